"""Messages in a case's thread: who replied, and what that does to the case's clocks."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import Timer
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.cases import kinds, open_case, say


def test_a_responder_reply_stops_the_first_response_clock(bot: Bot) -> None:
    root = open_case(bot)
    assert say(bot, CUSTOMER, "any news?", root) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at is None
    bot.clock.advance(__import__("datetime").timedelta(minutes=7))
    assert say(bot, ENGINEER, "looking now", root) == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at == bot.clock.now()
    assert kinds(bot) == ["opened", "requester_message", "responder_reply"]
    with bot.runtime.sessions() as session:
        timers = session.execute(select(Timer.target, Timer.kind, Timer.status)).all()
    assert ("first_response", "breach", "cancelled") in timers
    assert ("first_response", "breach", "pending") not in timers


def test_messages_outside_case_threads_change_nothing(bot: Bot) -> None:
    root = open_case(bot)
    before = bot.inbox()
    other = bot.slack.post_user_message(SUPPORT, CUSTOMER, "unrelated")
    assert say(bot, ENGINEER, "reply elsewhere", other) == 200
    assert say(bot, ENGINEER, "top level", None) == 200
    reply = bot.slack.post_user_message(SUPPORT, ENGINEER, "typo", thread_ts=root)
    edited = payloads.message(
        team=bot.slack.team_id,
        channel=SUPPORT,
        ts=reply,
        user=ENGINEER,
        text="edited",
        thread_ts=root,
    )
    edited["event"]["subtype"] = "message_changed"
    assert bot.driver.event(edited).status == 200
    # Only the reply in another thread is stored: the ack reads nothing to tell a case's
    # thread from another; that is decided after it. Top-level posts and edits are not.
    assert bot.inbox() == before + 1
    bot.settle()
    assert kinds(bot) == ["opened"]


def _reply_event(bot: Bot, user: str, root: str, subtype: str | None) -> dict:
    ts = bot.slack.post_user_message(SUPPORT, user, "with a twist", thread_ts=root)
    event = payloads.message(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=user, text="x", thread_ts=root
    )
    if subtype is not None:
        event["event"]["subtype"] = subtype
    return event


def test_a_reply_also_sent_to_the_channel_or_with_a_file_counts(bot: Bot) -> None:
    for subtype in ("thread_broadcast", "file_share"):
        root = open_case(bot)
        assert bot.driver.event(_reply_event(bot, ENGINEER, root, subtype)).status == 200
        bot.settle()
    assert [c.first_response_at is not None for c in bot.cases()] == [True, True]


def test_edits_and_deletions_do_not_count(bot: Bot) -> None:
    root = open_case(bot)
    for subtype in ("message_changed", "message_deleted", "channel_join"):
        assert bot.driver.event(_reply_event(bot, ENGINEER, root, subtype)).status == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at is None
    assert kinds(bot) == ["opened"]


def test_a_reply_in_a_thread_with_two_cases_counts_for_both(bot: Bot) -> None:
    root = open_case(bot)
    second = bot.slack.post_user_message(SUPPORT, CUSTOMER, "and this too", thread_ts=root)
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=second, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert [c.thread_ts for c in bot.cases()] == [root, root]
    assert say(bot, ENGINEER, "looking at both", root) == 200
    bot.settle()
    assert [c.first_response_at == bot.clock.now() for c in bot.cases()] == [True, True]


def test_a_bots_reply_does_not_count(bot: Bot) -> None:
    root = open_case(bot)
    event = _reply_event(bot, ENGINEER, root, "bot_message")
    event["event"]["bot_id"] = "B0OTHERBOT"
    assert bot.driver.event(event).status == 200
    plain = _reply_event(bot, ENGINEER, root, None)
    plain["event"]["bot_id"] = "B0OTHERBOT"  # an app posting as a user-like message
    assert bot.driver.event(plain).status == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at is None
    assert kinds(bot) == ["opened"]
