"""Opening cases and talking in their threads through the bot's real endpoint, and reading
back what the case's timeline recorded."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import CaseEvent
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads

# A Slack Connect partner: another organisation's user in a shared #support.
OTHER_ORG = "T0OTHERORG"
OUTSIDER = "U0OUTSIDE1"


def open_case(bot: Bot) -> str:
    """The customer posts in #support and the engineer reacts: one case; returns its ts."""
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "it broke")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return ts


def say(bot: Bot, user: str, text: str, thread_ts: str | None, **kw: object) -> int:
    """`user` posts `text` in #support (in the thread of `thread_ts` if given); returns the
    HTTP status of the event's delivery, without settling."""
    ts = bot.slack.post_user_message(SUPPORT, user, text, thread_ts=thread_ts)
    event = payloads.message(
        team=bot.slack.team_id,
        channel=SUPPORT,
        ts=ts,
        user=user,
        text=text,
        thread_ts=thread_ts,
        **kw,
    )
    return bot.driver.event(event).status


def kinds(bot: Bot) -> list[str]:
    """The kinds of every case event, oldest first."""
    with bot.runtime.sessions() as session:
        return list(session.execute(select(CaseEvent.kind).order_by(CaseEvent.id)).scalars())


def react(bot: Bot, ts: str, user: str = ENGINEER, reaction: str = "ticket", **kw: object):
    """A reaction on the customer's message `ts`; returns (the event, the endpoint's answer)."""
    event = payloads.reaction_added(
        team=bot.slack.team_id,
        channel=kw.pop("channel", SUPPORT),
        ts=ts,
        user=user,
        reaction=reaction,
        item_user=CUSTOMER,
        **kw,
    )
    return event, bot.driver.event(event)


def shared_case(bot: Bot) -> str:
    """A case opened in a channel shared with another organisation: the customer's
    message, and the installing workspace's engineer reacting."""
    bot.slack.add_user(OUTSIDER, "oscar", "Oscar (customer org)", team_id=OTHER_ORG)
    ts = bot.slack.post_user_message(SUPPORT, OUTSIDER, "our deploys fail")
    event = payloads.reaction_added(
        team=OTHER_ORG,  # the envelope may name the other organisation
        channel=SUPPORT,
        ts=ts,
        user=ENGINEER,
        item_user=OUTSIDER,
        authorization_team=bot.slack.team_id,
        is_ext_shared_channel=True,
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return ts
