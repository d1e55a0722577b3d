"""In a Slack Connect channel, a reply or a button press from another organisation's user is
recorded as what it is (external): it is neither the requester's message nor a responder's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import CaseEvent
from bot.slack.render import SET_SEVERITY_ACTION
from bot.testing import payloads
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.test_thread_messages import kinds, open_case, say

OTHER_ORG = "T0OTHERORG"
OUTSIDER = "U0OUTSIDE1"


def test_an_external_reply_moves_no_clock_and_is_recorded_as_external(bot: Bot) -> None:
    bot.slack.add_user(OUTSIDER, "oscar", "Oscar (partner org)")
    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=3))
    assert say(bot, OUTSIDER, "+1 same here", root, user_team=OTHER_ORG) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at is None
    assert kinds(bot) == ["opened", "external_message"]
    with bot.runtime.sessions() as session:
        row = session.execute(
            select(CaseEvent).where(CaseEvent.kind == "external_message")
        ).scalar_one()
        assert (row.actor, row.at) == (OUTSIDER, bot.clock.now())
    # A reply from the installing organisation still meets the target.
    assert say(bot, ENGINEER, "on it", root) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at == bot.clock.now()


def test_an_external_press_on_the_severity_buttons_is_refused(bot: Bot) -> None:
    bot.slack.add_user(OUTSIDER, "oscar", "Oscar (partner org)")
    bot.slack.add_member(SUPPORT, OUTSIDER)
    open_case(bot)
    [case] = bot.cases()
    card = next(m for m in bot.slack.posted_messages(SUPPORT) if m.blocks)
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=f"{SET_SEVERITY_ACTION}:sev1",
            value=f"{case.id}:sev1",
            user=OUTSIDER,
            user_team=OTHER_ORG,
            channel=SUPPORT,
            message_ts=card.ts,
            team=bot.slack.team_id,
        )
    )
    assert resp.status == 200
    bot.settle()
    [after] = bot.cases()
    assert after.severity == case.severity
    [notice] = bot.slack.calls("chat.postEphemeral")
    assert notice.params["user"] == OUTSIDER
    assert notice.params["text"] == f"Only the support team can change the severity of {case.key}."
