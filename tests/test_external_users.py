"""In a Slack Connect channel, another organisation's users are on the requester's side:
their replies count as the requester's, never as a responder's, and they cannot change the
severity; the case belongs to the installing workspace, and the bot's lines in the shared
thread leave internal notes out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import CaseEvent
from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.bot_messages import thread_lines
from tests.support.cases import OTHER_ORG, OUTSIDER, kinds, open_case, say, shared_case
from tests.support.slash_commands import run


def test_an_external_reply_counts_as_the_requesters_never_a_responders(bot: Bot) -> None:
    bot.slack.add_user(OUTSIDER, "oscar", "Oscar (partner org)", team_id=OTHER_ORG)
    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=3))
    assert say(bot, OUTSIDER, "+1 same here", root, user_team=OTHER_ORG) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at is None
    assert kinds(bot) == ["opened", "requester_message"]
    with bot.runtime.sessions() as session:
        row = session.execute(
            select(CaseEvent).where(CaseEvent.kind == "requester_message")
        ).scalar_one()
        assert (row.actor, row.at) == (OUTSIDER, bot.clock.now())
    # A reply from the installing organisation still meets the target.
    assert say(bot, ENGINEER, "on it", root) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at == bot.clock.now()


def test_an_external_press_on_the_severity_buttons_is_refused(bot: Bot) -> None:
    bot.slack.add_user(OUTSIDER, "oscar", "Oscar (partner org)", team_id=OTHER_ORG)
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


def test_a_shared_channels_case_belongs_to_the_installing_workspace(bot: Bot) -> None:
    shared_case(bot)
    [case] = bot.cases()
    assert (case.team_id, case.requester_id, case.shared) == (bot.slack.team_id, OUTSIDER, True)


def test_in_a_shared_channel_the_thread_leaves_internal_notes_out(bot: Bot) -> None:
    root = shared_case(bot)
    assert run(bot, "/case", "wait CASE-1 customer is on the old build, no rush")[2] == [
        "CASE-1 is waiting on the requester; its clocks are stopped."
    ]
    assert run(bot, "/severity", "CASE-1 sev4 they have a workaround internally")[2] == [
        "CASE-1 is now SEV 4 - Low."
    ]
    lines = thread_lines(bot, root)
    assert lines[0] == (
        f"<@{ENGINEER}> set CASE-1 waiting on the requester; its clocks are stopped."
    )
    assert lines[1].startswith(
        f"<@{ENGINEER}> set severity to *SEV 4 - Low* (was SEV 3 - Medium). First response"
    )
    # The notes are kept where only the support team looks: the timeline.
    with bot.runtime.sessions() as session:
        notes = [
            (e.kind, e.data.get("note") or e.data.get("reason"))
            for e in session.execute(select(CaseEvent).order_by(CaseEvent.id)).scalars()
            if e.kind in ("waiting_on_requester", "severity_changed")
        ]
    assert notes == [
        ("waiting_on_requester", "customer is on the old build, no rush"),
        ("severity_changed", "they have a workaround internally"),
    ]
