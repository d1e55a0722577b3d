"""Timers tell the truth: a reminder shows the real due time and the time left, catch-up
after downtime folds reminders into one breach alert that says how late, and a clock's
breach is announced once however often severity moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.models import CaseEvent, InboxEvent, Timer
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.bot_messages import thread_texts
from tests.support.buttons import press
from tests.support.cases import open_case

# FakeClock starts Monday 2026-01-05 09:00 UTC. The default policy opens cases at SEV3:
# 6h of core hours (Mon-Fri 05:00-01:00 UTC), reminder 1h before: due 15:00, reminder 14:00.
OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
DUE_TOKEN = "<!date^1767625200^{date_short_pretty} at {time}|Mon 05 Jan 2026 15:00 UTC>"


def breach_text(bot: Bot, due_token: str, overdue: str = "", who: str = "") -> str:
    [case] = bot.cases()
    tail = f" It is {overdue} overdue." if overdue else ""
    named = f" <@{who}>" if who else ""
    return (
        f":rotating_light: <{case.permalink}|CASE-1> missed its first response target"
        f" (due {due_token}).{tail}{named}"
    )


def timer_rows(bot: Bot) -> list[tuple[str | None, str, datetime, str, str | None]]:
    with bot.runtime.sessions() as session:
        rows = session.execute(
            select(Timer.target, Timer.kind, Timer.due_at, Timer.status, Timer.note)
            .where(Timer.case_id.is_not(None))  # not the schedules' handoffs
            .order_by(Timer.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_reminder_names_the_real_due_time_and_the_time_left(bot: Bot) -> None:
    assert DUE_TOKEN.split("^")[1] == str(int(DUE.timestamp()))
    root = open_case(bot)
    bot.clock.set(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    bot.settle()
    assert thread_texts(bot, root) == [
        f":hourglass_flowing_sand: CASE-1: first response due {DUE_TOKEN}, in 1 h."
    ]
    bot.clock.set(DUE)
    bot.settle()
    assert thread_texts(bot, root)[1:] == [breach_text(bot, DUE_TOKEN)]


def test_after_downtime_the_reminder_folds_into_one_breach_alert_saying_how_late(
    bot: Bot,
) -> None:
    root = open_case(bot)
    # The bot was down from 13:00 to 16:30: both the 14:00 reminder and the 15:00 breach
    # are due when it comes back.
    bot.clock.set(datetime(2026, 1, 5, 16, 30, tzinfo=UTC))
    bot.settle()
    assert thread_texts(bot, root) == [breach_text(bot, DUE_TOKEN, "1 h 30 min")]
    assert timer_rows(bot) == [
        (
            "first_response",
            "reminder",
            datetime(2026, 1, 5, 14, 0, tzinfo=UTC),
            "dropped",
            "folded into the breach alert",
        ),
        ("first_response", "breach", DUE, "fired", None),
    ]
    with bot.runtime.sessions() as session:
        dropped = session.execute(
            select(CaseEvent.at, CaseEvent.data).where(CaseEvent.kind == "timer_dropped")
        ).one()
    assert dropped.at == datetime(2026, 1, 5, 16, 30, tzinfo=UTC)
    assert dropped.data["why"] == "folded into the breach alert"


# Who the shipped SEV 1 chain pages first on Monday 5 January 2026 (its rotation's first
# engineer): the policy lists no responders, so the breach alert names them.
ON_CALL = "U00000000E1"


def test_raised_breached_and_lowered_the_miss_is_announced_once(bot: Bot) -> None:
    root = open_case(bot)
    bot.clock.set(datetime(2026, 1, 5, 10, 1, tzinfo=UTC))
    # SEV1: 1h around the clock from 09:00, due 10:00, already past: a breach at once.
    assert press(bot, "U0ENGINEER", "sev1") == 200
    sev1_due = "<!date^1767607200^{date_short_pretty} at {time}|Mon 05 Jan 2026 10:00 UTC>"
    alerts = [t for t in thread_texts(bot, root) if t.startswith(":rotating_light:")]
    assert alerts == [breach_text(bot, sev1_due, "1 min", ON_CALL)]
    # Back to SEV3 (due 15:00 again): the same clock's miss is not announced again, not
    # at 15:00 nor ever after.
    assert press(bot, "U0ENGINEER", "sev3") == 200
    bot.clock.set(DUE + timedelta(days=2))
    bot.settle()
    alerts = [t for t in thread_texts(bot, root) if t.startswith(":rotating_light:")]
    assert alerts == [breach_text(bot, sev1_due, "1 min", ON_CALL)]
    assert [t for t in thread_texts(bot, root) if t.startswith(":hourglass")] == []


def card_updates(bot: Bot) -> list[str]:
    return [c.params["text"] for c in bot.slack.calls("chat.update") if c.ok]


def test_a_reply_sent_in_time_but_processed_after_an_outage_meets_the_target(bot: Bot) -> None:
    root = open_case(bot)
    # The engineer answered at 14:50; the bot was down from 13:00 and gets the event at 16:00.
    bot.clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    sent = datetime(2026, 1, 5, 14, 50, tzinfo=UTC)
    event = payloads.message(
        team=bot.slack.team_id,
        channel=SUPPORT,
        ts=f"{int(sent.timestamp())}.000100",
        user=ENGINEER,
        text="on it",
        thread_ts=root,
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at == datetime(2026, 1, 5, 14, 50, 0, 100, tzinfo=UTC)
    assert thread_texts(bot, root) == []  # no reminder, no breach: it was met in time
    met = "<!date^1767624600^{date_short_pretty} at {time}|Mon 05 Jan 2026 14:50 UTC>"
    assert card_updates(bot) == [
        f"CASE-1 opened: severity SEV 3 - Medium, first response met {met} by <@{ENGINEER}>,"
        " 10 min before the target"
    ]


def test_the_card_says_when_the_target_was_missed(bot: Bot) -> None:
    open_case(bot)
    bot.clock.set(DUE)
    bot.settle()
    assert card_updates(bot) == [
        f"CASE-1 opened: severity SEV 3 - Medium, first response missed: was due {DUE_TOKEN}"
    ]


def test_events_arriving_out_of_order_never_wedge_the_case(bot: Bot) -> None:
    """The reply sent at 10:30 reaches the bot before the customer's message of 10:20: both
    count at their own instants and the case moves on."""
    root = open_case(bot)
    bot.clock.set(datetime(2026, 1, 5, 10, 45, tzinfo=UTC))

    def message(user: str, hour: int, minute: int, text: str) -> int:
        sent = datetime(2026, 1, 5, hour, minute, tzinfo=UTC)
        event = payloads.message(
            team=bot.slack.team_id,
            channel=SUPPORT,
            ts=f"{int(sent.timestamp())}.000000",
            user=user,
            text=text,
            thread_ts=root,
        )
        return bot.driver.event(event).status

    assert message(ENGINEER, 10, 30, "fixed") == 200
    bot.settle()
    assert message("U0CUSTOMR1", 10, 20, "still broken") == 200
    bot.settle()
    [case] = bot.cases()
    assert case.first_response_at == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    with bot.runtime.sessions() as session:
        timeline = session.execute(
            select(CaseEvent.kind, CaseEvent.at).order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        statuses = session.execute(select(InboxEvent.status)).scalars().all()
    assert [tuple(t) for t in timeline] == [
        ("opened", OPENED),
        ("requester_message", datetime(2026, 1, 5, 10, 20, tzinfo=UTC)),
        ("responder_reply", datetime(2026, 1, 5, 10, 30, tzinfo=UTC)),
    ]
    assert set(statuses) == {"done"}


def test_a_reminder_mentions_the_assignee(bot: Bot) -> None:
    root = open_case(bot)
    [case] = bot.cases()
    with bot.runtime.sessions.begin() as session:
        from bot.cases import lifecycle
        from bot.db.models import Case

        current = session.get(Case, case.id)
        assert current is not None
        lifecycle.assign(session, bot.clock, current, ENGINEER, ENGINEER)
    bot.clock.set(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    bot.settle()
    reminders = [t for t in thread_texts(bot, root) if t.startswith(":hourglass")]
    assert reminders == [
        f":hourglass_flowing_sand: CASE-1: first response due {DUE_TOKEN}, in 1 h. <@{ENGINEER}>"
    ]


def test_after_downtime_breaches_go_out_in_due_order(bot: Bot) -> None:
    first = open_case(bot)  # SEV3: due 15:00
    bot.clock.set(datetime(2026, 1, 5, 9, 5, tzinfo=UTC))
    second = open_case(bot)
    # Raised to SEV2 (2h around the clock): due 11:05, earlier than the first case's.
    [_, case2] = bot.cases()
    with bot.runtime.sessions.begin() as session:
        from bot.cases import service
        from bot.db.models import Case

        current = session.get(Case, case2.id)
        assert current is not None
        policy = bot.runtime.policy_for_case(session, current)
        service.set_severity(session, bot.clock, policy, current, "sev2", ENGINEER)
    bot.settle()
    bot.clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # back after a long outage
    bot.settle()
    alerts = [
        m.thread_ts
        for m in bot.slack.posted_messages(SUPPORT)
        if m.text.startswith(":rotating_light:")
    ]
    assert alerts == [second, first]
