"""Delivery when Slack's limits leave room for only some messages: each method paced by its
own limit, the most urgent first, superseded rows folded, bursts of alerts digested. The
stand-in enforces Slack's per-method limits and the bot paces itself by the same table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.cases.writes import case_changed, enqueue, notify
from bot.db.models import Case, OutboxMessage
from bot.outbox import Intent
from bot.slack import queue
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, TRIAGE, Bot
from tests.support import payloads
from tests.support.bot_messages import thread_texts
from tests.support.cases import open_case

# The shipped SEV policy's first response target of a case opened at the test clock's start.
DUE = "<!date^1767625200^{date_short_pretty} at {time}|Mon 05 Jan 2026 15:00 UTC>"
AFTER_BREACH = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)


@pytest.fixture
def paced(bot: Bot) -> Bot:
    bot.runtime.deliverer.pacer.enabled = True
    return bot


def rows(bot: Bot, intent: str) -> list[tuple[int, str, str | None]]:
    with bot.runtime.sessions() as session:
        found = session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_error)
            .where(OutboxMessage.intent == intent)
            .order_by(OutboxMessage.id)
        ).all()
    return [tuple(r) for r in found]  # type: ignore[misc]


def test_thirty_pending_updates_of_one_card_make_one_chat_update(paced: Bot) -> None:
    open_case(paced)
    assert paced.slack.calls("chat.update") == []
    with paced.runtime.sessions.begin() as session:
        case = session.execute(select(Case)).scalar_one()
        for i in range(30):
            case_changed(session, paced.clock.now() - timedelta(seconds=30 - i), case)
    paced.settle()
    assert len(paced.slack.calls("chat.update")) == 1
    *older, newest = rows(paced, Intent.CASE_CARD_UPDATE)
    assert newest[1] == "sent"
    assert older == [
        (row_id, "skipped", f"folded into outbox {newest[0]}, which carries the latest state")
        for row_id, _, _ in older
    ]
    assert len(older) == 29


def test_a_card_update_is_not_held_back_by_a_channel_out_of_posts(paced: Bot) -> None:
    """Posting is limited per channel, updating per workspace: a channel that has spent its
    posts still gets its card updated at once, while its next thread line waits its turn."""
    root = open_case(paced)
    posts = paced.slack.calls("chat.postMessage")
    with paced.runtime.sessions.begin() as session:
        case = session.execute(select(Case)).scalar_one()
        notify(
            session,
            paced.clock.now(),
            case,
            Intent.CASE_CHANGED,
            thread_ts=root,
            actor=ENGINEER,
            what="waiting",
        )
        case_changed(session, paced.clock.now(), case)
    # The channel's burst is spent (the clock stands still, so nothing refills it).
    for _ in range(30):
        paced.runtime.deliverer.pacer.spend(paced.slack.team_id, "chat.postMessage", SUPPORT)
    paced.runtime.passes.run_once()
    assert len(paced.slack.calls("chat.update")) == 1
    assert paced.slack.calls("chat.postMessage") == posts
    assert [status for _, status, _ in rows(paced, Intent.CASE_CHANGED)] == ["pending"]
    # A burst of 25, the card and 30 more spent: 6 in debt, refilled at 1 a second, so the
    # next post may go in 7 seconds, and the next pass is booked for then.
    assert paced.runtime.deliverer.next_turn == paced.clock.now() + timedelta(seconds=7)
    paced.clock.advance(timedelta(seconds=6))
    paced.runtime.passes.run_once()
    assert [status for _, status, _ in rows(paced, Intent.CASE_CHANGED)] == ["pending"]
    paced.clock.advance(timedelta(seconds=1))
    paced.runtime.passes.run_once()
    assert [status for _, status, _ in rows(paced, Intent.CASE_CHANGED)] == ["sent"]
    # The stand-in never had to refuse a call: the bot kept to the limits itself.
    assert [c for c in paced.slack.calls() if c.status == 429] == []


def test_ten_breaches_due_together_in_one_channel_make_one_digest(paced: Bot) -> None:
    roots = [open_case(paced) for _ in range(10)]
    cards = len(paced.slack.posted_messages(SUPPORT))
    paced.clock.set(AFTER_BREACH)
    paced.settle()
    with paced.runtime.sessions() as session:
        cases = list(session.execute(select(Case).order_by(Case.number)).scalars())
    lines = [
        f":rotating_light: <{c.permalink}|{c.key}> missed its first response target"
        f" (due {DUE}). It is 1 h overdue."
        for c in cases
    ]
    digest = "\n".join(["*SLA alerts: 10 missed*", *lines])
    new_top = [m for m in paced.slack.posted_messages(SUPPORT)[cards:] if not m.is_reply]
    assert [m.text for m in new_top] == [digest]
    assert len(new_top[0].blocks or []) == 11
    # The triage channel, which gets every case's alert, gets one digest too.
    triage = [m.text for m in paced.slack.posted_messages(TRIAGE) if m.text.startswith("*SLA")]
    assert triage == [digest]
    # And each thread still gets its own line, once.
    for root, line in zip(roots, lines, strict=True):
        assert thread_texts(paced, root) == [line]
    assert {status for _, status, _ in rows(paced, Intent.BREACH_ALERT)} == {"sent"}


def test_a_digest_slack_refuses_for_good_becomes_one_line_each(paced: Bot) -> None:
    """One refusal that no retry would mend (here `invalid_blocks`) must not sink every
    alert the digest carried: each goes on its own."""
    roots = [open_case(paced) for _ in range(4)]
    cards = len(paced.slack.posted_messages(SUPPORT))
    paced.slack.fail("chat.postMessage", error="invalid_blocks")
    paced.clock.set(AFTER_BREACH)
    paced.settle()
    assert [m for m in paced.slack.posted_messages(SUPPORT)[cards:] if not m.is_reply] == []
    for root in roots:
        [line] = thread_texts(paced, root)
        assert line.startswith(":rotating_light: ")
    assert {status for _, status, _ in rows(paced, Intent.BREACH_ALERT)} == {"sent"}


def test_two_alerts_due_together_are_not_a_digest(paced: Bot) -> None:
    roots = [open_case(paced) for _ in range(queue.DIGEST_MIN - 1)]
    cards = len(paced.slack.posted_messages(SUPPORT))
    paced.clock.set(AFTER_BREACH)
    paced.settle()
    assert [m for m in paced.slack.posted_messages(SUPPORT)[cards:] if not m.is_reply] == []
    for root in roots:
        assert len(thread_texts(paced, root)) == 1


def test_app_home_refreshes_of_one_person_fold_into_the_newest(paced: Bot) -> None:
    open_case(paced)
    with paced.runtime.sessions.begin() as session:
        case = session.execute(select(Case)).scalar_one()
        for i in range(5):
            view = {
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"v{i}"}}],
            }
            enqueue(
                session,
                paced.clock.now(),
                team_id=case.team_id,
                channel_id=ENGINEER,
                intent=Intent.HOME_VIEW,
                view=view,
            )
    published = len(paced.slack.calls("views.publish"))
    paced.settle()
    calls = paced.slack.calls("views.publish")[published:]
    assert [c.params["view"]["blocks"][0]["text"]["text"] for c in calls] == ["v4"]
    *older, newest = rows(paced, Intent.HOME_VIEW)[-5:]
    assert [status for _, status, _ in older] == ["skipped"] * 4
    assert {note for _, _, note in older} == {
        f"folded into outbox {newest[0]}, which carries the latest state"
    }


def test_the_most_urgent_rows_come_first(paced: Bot) -> None:
    written = [
        Intent.HOME_VIEW,
        Intent.SLA_REMINDER,
        Intent.CASE_CARD_UPDATE,
        Intent.BREACH_ALERT,
        Intent.CASE_CARD,
        Intent.PAGE_DM,
        Intent.OPEN_VIEW,
    ]
    with paced.runtime.sessions.begin() as session:
        for intent in written:
            session.add(
                OutboxMessage(
                    team_id="T1",
                    channel_id="C1",
                    intent=intent,
                    data={},
                    status="pending",
                    attempts=0,
                    created_at=paced.clock.now(),
                    next_attempt_at=paced.clock.now(),
                )
            )
    due = queue.due(paced.runtime.sessions, queue.Lane.ALL, 100)
    assert [r.intent for r in due] == [
        Intent.PAGE_DM,
        Intent.OPEN_VIEW,
        Intent.CASE_CARD,
        Intent.BREACH_ALERT,
        Intent.SLA_REMINDER,
        Intent.HOME_VIEW,
        Intent.CASE_CARD_UPDATE,
    ]


def open_together(bot: Bot, n: int) -> None:
    """`n` messages ticketed at once (every request acked before any work), then settled."""
    for _ in range(n):
        ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "it broke")
        event = payloads.reaction_added(
            team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert bot.driver.event(event).status == 200
    bot.settle()


def test_cases_opened_together_are_announced_to_triage_in_one_message(paced: Bot) -> None:
    open_together(paced, 5)
    with paced.runtime.sessions() as session:
        cases = list(session.execute(select(Case).order_by(Case.number)).scalars())
    lines = [
        f":ticket: <{c.permalink}|{c.key}> opened in <#{SUPPORT}> by <@{ENGINEER}>" for c in cases
    ]
    assert [m.text for m in paced.slack.posted_messages(TRIAGE)] == [
        "\n".join(["*5 new cases*", *lines])
    ]
    assert {status for _, status, _ in rows(paced, Intent.TRIAGE_NOTICE)} == {"sent"}


def test_a_case_opens_at_once_while_permalinks_are_rate_limited(paced: Bot) -> None:
    """A workspace opening more cases a minute than chat.getPermalink allows: the link is
    built as Slack builds the workspace's others, and the case does not wait."""
    open_case(paced)
    paced.slack.fail("chat.getPermalink", status=429, retry_after=60, times=5)
    root = open_case(paced)
    [case] = [c for c in paced.cases() if c.message_ts == root]
    message = paced.slack.message(SUPPORT, root)
    assert message is not None and case.permalink == message.permalink
    assert [c.status for c in paced.slack.calls("chat.getPermalink")] == [200, 429]


def test_a_digest_whose_sender_died_is_found_in_one_read_not_posted_again(paced: Bot) -> None:
    open_together(paced, 5)
    [digest] = paced.slack.posted_messages(TRIAGE)
    # The sender died after Slack took the digest, before it recorded the rows as sent.
    with paced.runtime.sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.intent == Intent.TRIAGE_NOTICE)
            .values(status="sending", result=None, next_attempt_at=paced.clock.now())
        )
    reads = len(paced.slack.calls("conversations.history"))
    paced.settle()
    assert paced.slack.posted_messages(TRIAGE) == [digest]
    assert len(paced.slack.calls("conversations.history")) - reads == 1
    with paced.runtime.sessions() as session:
        results = session.execute(
            select(OutboxMessage.status, OutboxMessage.result).where(
                OutboxMessage.intent == Intent.TRIAGE_NOTICE
            )
        ).all()
    assert [tuple(r) for r in results] == [("sent", {"ts": digest.ts, "channel": TRIAGE})] * 5


def card_refreshes(bot: Bot) -> list[tuple[int, str, str | None]]:
    return rows(bot, Intent.CASE_CARD_REFRESH)


def spend_updates(bot: Bot, calls: int) -> None:
    """The workspace's `chat.update` budget spent on other cards (50 a minute, burst 50)."""
    for _ in range(calls):
        bot.runtime.deliverer.pacer.spend(bot.slack.team_id, "chat.update", SUPPORT)


def run_at(bot: Bot, seconds: float) -> None:
    """One pass, `seconds` after the breach."""
    bot.clock.set(AFTER_BREACH + timedelta(seconds=seconds))
    bot.runtime.passes.run_once()


MISSED_CARD = f"CASE-1 opened: severity SEV 3 - Medium, first response missed: was due {DUE}"
GIVEN_UP = (
    "not sent: Slack's chat.update budget was in use for 10 s; the miss was announced in the"
    " thread, and the card shows it at its next change"
)


def test_a_missed_target_refreshes_the_card_when_slack_has_room(paced: Bot) -> None:
    open_case(paced)
    paced.clock.set(AFTER_BREACH)
    paced.settle()
    assert [c.params["text"] for c in paced.slack.calls("chat.update")] == [MISSED_CARD]
    [(_, status, note)] = card_refreshes(paced)
    assert (status, note) == ("sent", None)


def test_a_card_refresh_waits_until_nothing_else_spends_the_budget(paced: Bot) -> None:
    """Room other edits are about to need is not room to spare: with 45 of 50 calls left
    (other cards being edited), the refresh waits until the bucket is full again."""
    open_case(paced)
    paced.clock.set(AFTER_BREACH)
    spend_updates(paced, 5)
    run_at(paced, 0)
    assert [s for _, s, _ in card_refreshes(paced)] == ["pending"]
    run_at(paced, 4)  # 45 + 4 x 50/60 = 48.3: still in use
    assert [s for _, s, _ in card_refreshes(paced)] == ["pending"]
    run_at(paced, 5)  # 49.2: idle
    assert [(s, n) for _, s, n in card_refreshes(paced)] == [("sent", None)]
    assert [c.params["text"] for c in paced.slack.calls("chat.update")] == [MISSED_CARD]


def test_a_card_refresh_without_room_is_given_up_but_a_change_someone_makes_goes(
    paced: Bot,
) -> None:
    open_case(paced)
    paced.clock.set(AFTER_BREACH)
    spend_updates(paced, 60)  # 10 in debt: room again in 13.2 s
    run_at(paced, 0)
    # The alerts went (the thread's and triage's); the refresh waits for room.
    assert [s for _, s, _ in rows(paced, Intent.BREACH_ALERT)] == ["sent", "sent"]
    assert [s for _, s, _ in card_refreshes(paced)] == ["pending"]
    run_at(paced, 9.9)
    assert [s for _, s, _ in card_refreshes(paced)] == ["pending"]
    run_at(paced, 10)
    assert [(s, n) for _, s, n in card_refreshes(paced)] == [("skipped", GIVEN_UP)]
    assert paced.slack.calls("chat.update") == []
    # Someone changes the case: that update waits for room, and is never given up.
    with paced.runtime.sessions.begin() as session:
        case_changed(session, paced.clock.now(), session.execute(select(Case)).scalar_one())
    run_at(paced, 13)
    assert [s for _, s, _ in rows(paced, Intent.CASE_CARD_UPDATE)] == ["pending"]
    run_at(paced, 14)
    assert [s for _, s, _ in rows(paced, Intent.CASE_CARD_UPDATE)] == ["sent"]
    assert [c.params["text"] for c in paced.slack.calls("chat.update")] == [MISSED_CARD]
    assert [c for c in paced.slack.calls() if c.status == 429] == []


def test_a_card_refresh_that_stands_for_a_change_someone_made_is_never_given_up(
    paced: Bot,
) -> None:
    """A change someone made, folded into a newer refresh of the same card, goes with it."""
    open_case(paced)
    paced.clock.set(AFTER_BREACH - timedelta(seconds=1))
    with paced.runtime.sessions.begin() as session:
        case_changed(session, paced.clock.now(), session.execute(select(Case)).scalar_one())
    paced.clock.set(AFTER_BREACH)
    spend_updates(paced, 60)
    run_at(paced, 0)
    [(update_id, _, _)] = rows(paced, Intent.CASE_CARD_UPDATE)
    [(refresh_id, _, _)] = card_refreshes(paced)
    assert refresh_id > update_id
    run_at(paced, 12)
    assert [s for _, s, _ in card_refreshes(paced)] == ["pending"]
    run_at(paced, 14)
    assert card_refreshes(paced) == [(refresh_id, "sent", None)]
    assert rows(paced, Intent.CASE_CARD_UPDATE) == [
        (update_id, "skipped", f"folded into outbox {refresh_id}, which carries the latest state")
    ]
    assert [c.params["text"] for c in paced.slack.calls("chat.update")] == [MISSED_CARD]
