"""A reminder is checked again when it is sent: one that reaches the head of the queue after
its clock was met, paused or passed is dropped, saying why, and never posted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.models import OutboxMessage
from tests.conftest import SUPPORT, Bot
from tests.support.bot_messages import thread_texts
from tests.support.cases import open_case

REMINDER = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
DUE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def outbox(bot: Bot, intent: str) -> list[tuple[str, str | None]]:
    with bot.runtime.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(
                OutboxMessage.intent == intent
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_reminder_held_up_past_its_due_time_is_dropped_not_posted(bot: Bot) -> None:
    root = open_case(bot)
    # Slack holds the channel back for two hours: the reminder cannot go before its due time.
    bot.slack.fail("chat.postMessage", status=429, retry_after=7200)
    bot.clock.set(REMINDER)
    bot.settle()
    assert outbox(bot, "sla_reminder") == [("pending", "ratelimited")]
    bot.clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    bot.settle()
    # Alerts go before reminders: the breach alert in the thread went first, and made the
    # reminder moot.
    with bot.runtime.sessions() as session:
        breach = session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.intent == "breach_alert", OutboxMessage.channel_id == SUPPORT
            )
        ).scalar_one()
    assert outbox(bot, "sla_reminder") == [
        ("skipped", f"overtaken by its breach alert (outbox {breach})")
    ]
    texts = thread_texts(bot, root)
    assert len(texts) == 1 and texts[0].startswith(":rotating_light: ")


def test_a_reminder_whose_turn_comes_seconds_before_its_due_time_is_dropped(bot: Bot) -> None:
    """A reminder posted as its target falls due helps nobody, and could reach Slack after
    it: one whose turn comes less than 3 s before its due time is not sent."""
    root = open_case(bot)
    # Slack holds the channel back until two seconds before the reminder's due time.
    bot.slack.fail("chat.postMessage", status=429, retry_after=3598)
    bot.clock.set(REMINDER)
    bot.settle()
    assert outbox(bot, "sla_reminder") == [("pending", "ratelimited")]
    bot.clock.set(DUE - timedelta(seconds=2))
    bot.settle()
    assert outbox(bot, "sla_reminder") == [
        ("skipped", "not sent: its due time was less than 3 s away when its turn came")
    ]
    assert thread_texts(bot, root) == []
