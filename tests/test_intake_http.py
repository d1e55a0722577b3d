"""A :ticket: reaction, through the bot's real HTTP endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bot.db.models import CaseEvent, OutboxMessage
from tests.conftest import CUSTOMER, ENGINEER, PRIVATE, SUPPORT, TRIAGE, Bot
from tests.support import payloads
from tests.support.cases import react


def thread_replies(bot: Bot, ts: str, channel: str = SUPPORT) -> list:
    return [m for m in bot.slack.posted_messages(channel) if m.thread_ts == ts]


def test_reaction_opens_one_case_and_answers_in_its_thread(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "Pushes fail with 503")
    _, resp = react(bot, ts)
    assert resp.status == 200
    assert bot.inbox() == 1  # committed before the ack
    bot.settle()

    [case] = bot.cases()
    assert (case.key, case.channel_id, case.message_ts) == ("CASE-1", SUPPORT, ts)
    assert case.requester_id == CUSTOMER and case.opened_by == ENGINEER
    assert case.text == "Pushes fail with 503"
    assert case.permalink and case.permalink.startswith("https://")
    policy = bot.runtime.policies.for_channel(SUPPORT)
    assert case.severity == policy.initial_severity.id
    assert case.first_response_due is not None

    [reply] = thread_replies(bot, ts)
    assert "CASE-1" in reply.text
    assert case.card_ts == reply.ts
    flat = str(reply.blocks)
    assert f"<@{CUSTOMER}>" in flat and f"<@{ENGINEER}>" in flat
    assert "<!date^" in flat  # shown in each reader's local time
    buttons = [
        b for blk in reply.blocks if blk.get("block_id") == "severity" for b in blk["elements"]
    ]
    assert [b["value"].split(":")[1] for b in buttons] == [s.id for s in policy.ordered_severities]
    [notice] = bot.slack.posted_messages(TRIAGE)
    assert "CASE-1" in notice.text and notice.thread_ts is None

    with bot.runtime.sessions() as session:
        kinds = session.execute(select(CaseEvent.kind, CaseEvent.source_event)).all()
    assert kinds[0][0] == "opened" and kinds[0][1].startswith("Ev")


def test_slack_retries_leave_one_case_and_one_reply(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "help")
    event, first = react(bot, ts)
    statuses = [first.status]
    for n in (1, 2, 3):
        statuses.append(bot.driver.event(event, retry_num=n, retry_reason="http_timeout").status)
        bot.settle()
    assert statuses == [200, 200, 200, 200]
    assert len(bot.cases()) == 1
    assert len(thread_replies(bot, ts)) == 1
    assert bot.inbox() == 1


def test_twenty_people_reacting_at_once_open_one_case(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "everything is down")
    users = [f"U0REACT{i:03d}" for i in range(20)]

    def one(user: str) -> int:
        return react(bot, ts, user=user)[1].status

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(one, users))
    assert statuses == [200] * 20
    # Process concurrently too, as several workers or replicas would.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: bot.runtime.run_once(), range(4)))
    bot.settle()
    assert len(bot.cases()) == 1
    assert len(thread_replies(bot, ts)) == 1
    with bot.runtime.sessions() as session:
        kinds = session.execute(select(CaseEvent.kind)).scalars().all()
    assert kinds.count("opened") == 1 and len(kinds) == 20


def test_fifty_messages_give_fifty_cases_with_distinct_numbers(bot: Bot) -> None:
    bot.slack.relax(
        "rate_limits",
        why="50 cards go to one channel at one instant of the bot's stopped clock; this test "
        "is about intake under concurrency, pacing under 429s is tests/test_delivery.py's",
    )
    stamps = [bot.slack.post_user_message(SUPPORT, CUSTOMER, f"issue {i}") for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda ts: react(bot, ts)[1].status, stamps))
    assert statuses == [200] * 50
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: bot.runtime.run_once(), range(3)))
    bot.settle()
    cases = bot.cases()
    assert len(cases) == 50
    assert sorted(c.number for c in cases) == list(range(1, 51))
    assert {c.message_ts for c in cases} == set(stamps)


def test_other_emoji_open_nothing(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "nice work")
    for emoji in ("thumbsup", "tickets", "admission_tickets", "eyes"):
        assert react(bot, ts, reaction=emoji)[1].status == 200
    bot.settle()
    assert bot.inbox() == 0 and bot.cases() == []
    assert bot.slack.posted_messages() == []


def test_removing_the_reaction_keeps_the_case(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "broken")
    react(bot, ts)
    bot.settle()
    removed = payloads.reaction_removed(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(removed).status == 200
    bot.settle()
    [case] = bot.cases()
    assert case.status == "open"


def test_a_reply_in_a_thread_is_answered_in_that_thread(bot: Bot) -> None:
    parent = bot.slack.post_user_message(SUPPORT, ENGINEER, "Daily standup")
    reply = bot.slack.post_user_message(SUPPORT, CUSTOMER, "our build is stuck", thread_ts=parent)
    react(bot, reply)
    bot.settle()
    [case] = bot.cases()
    assert case.message_ts == reply and case.thread_ts == parent
    assert len(thread_replies(bot, parent)) == 1


def test_a_channel_the_bot_cannot_read_gets_an_invite_hint(bot: Bot) -> None:
    ts = bot.slack.post_user_message(PRIVATE, CUSTOMER, "secret problem")
    react(bot, ts, channel=PRIVATE)
    bot.settle()
    assert bot.cases() == []
    [hint] = [m for m in bot.slack.posted_messages() if m.channel not in (SUPPORT, TRIAGE)]
    assert "/invite" in hint.text
    [call] = [c for c in bot.slack.calls("chat.postMessage") if c.ok]
    assert call.params["channel"] == ENGINEER  # told privately, to the person who reacted


def test_rate_limits_and_server_errors_still_post_exactly_once(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", status=429, retry_after=1, times=2)
    bot.slack.fail("chat.postMessage", status=500, times=1)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "please help")
    react(bot, ts)
    deadline = time.monotonic() + 30
    while not thread_replies(bot, ts) and time.monotonic() < deadline:
        bot.settle()
        bot.clock.advance(__import__("datetime").timedelta(seconds=30))
    assert len(thread_replies(bot, ts)) == 1
    statuses = [c.status for c in bot.slack.calls("chat.postMessage")]
    assert statuses[:4] == [429, 429, 500, 200]
    with bot.runtime.sessions() as session:
        rows = session.execute(select(OutboxMessage.intent, OutboxMessage.status)).all()
    assert ("case_card", "sent") in rows


def test_forged_stale_or_unsigned_requests_get_401_and_store_nothing(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "x")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    now = bot.driver.timestamp()
    forged = bot.driver.event(event, secret="not-the-secret")
    stale = bot.driver.event(event, timestamp=now - 5 * 60 - 5)
    no_sig = bot.driver.event(event, omit=["X-Slack-Signature"])
    no_ts = bot.driver.event(event, omit=["X-Slack-Request-Timestamp"])
    assert [r.status for r in (forged, stale, no_sig, no_ts)] == [401, 401, 401, 401]
    bot.settle()
    assert bot.inbox() == 0 and bot.cases() == []
