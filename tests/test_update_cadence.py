"""`targets.update_every`: from the first response on, a responder's message is due within
the cadence of the last one, counted in the severity's business hours; it has a reminder, a
breach alert and a line on the card. A responder's message resets it; waiting on the
requester pauses it. Every instant below is worked out by hand on the calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support.bot_messages import due, thread_lines
from tests.support.cases import open_case, say
from tests.support.paging import paging_bot_for
from tests.support.slash_commands import run

POLICY = f"""
id: cadence
name: Cadence
default: true
default_severity: sev2
responders: {{users: [{ENGINEER}]}}
calendars:
  office:
    timezone: UTC
    windows:
      - {{days: [mon-fri], from: "09:00", to: "17:00"}}
severities:
  - id: sev2
    name: SEV 2
    calendar: office
    targets: {{first_response: 4h, update_every: 2h}}
    reminders: ["30m before"]
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def shown(instant: datetime) -> str:
    return due(str(int(instant.timestamp())), instant.strftime("%a %d %b %Y %H:%M UTC"))


def move(bot: Bot, when: datetime) -> None:
    bot.clock.set(when)
    bot.settle()


def next_update(bot: Bot) -> datetime | None:
    [case] = bot.cases()
    return case.next_update_due


def card_fields(bot: Bot) -> list[str]:
    [case] = bot.cases()
    card = bot.slack.message(SUPPORT, case.card_ts or "")
    assert card is not None
    return [f["text"] for b in card.blocks or [] for f in b.get("fields") or []]


def test_the_update_cadence_runs_in_business_hours_across_a_weekend(
    db_url: str, tmp_path: Path
) -> None:
    for bot in paging_bot_for(db_url, tmp_path, POLICY):
        move(bot, at(16, 15))  # Friday 16 January 15:00
        root = open_case(bot)
        assert next_update(bot) is None  # no cadence before the first response
        move(bot, at(16, 16, 30))
        assert say(bot, ENGINEER, "looking at the logs now", root) == 200
        bot.settle()
        # 30 min count on Friday (16:30-17:00), the other 1 h 30 min from Monday 09:00.
        monday_due = at(19, 10, 30)
        assert next_update(bot) == monday_due
        assert f"*Next update*\ndue {shown(monday_due)}" in card_fields(bot)
        # Nothing over the weekend; the reminder at 30 min before: Monday 10:00.
        move(bot, at(19, 9, 59))
        assert not [line for line in thread_lines(bot, root) if "update" in line]
        move(bot, at(19, 10))
        assert thread_lines(bot, root)[-1] == (
            f":hourglass_flowing_sand: CASE-1: update due {shown(monday_due)}, in 30 min. "
            f"<@{ENGINEER}>"
        )
        move(bot, at(19, 10, 30))
        [case] = bot.cases()
        assert thread_lines(bot, root)[-1] == (
            f":rotating_light: <{case.permalink}|CASE-1> missed its update target (due "
            f"{shown(monday_due)}). <@{ENGINEER}>"
        )
        # A responder's message resets it: due two open hours later.
        move(bot, at(19, 11))
        assert say(bot, ENGINEER, "still on it, a fix is being tested", root) == 200
        bot.settle()
        assert next_update(bot) == at(19, 13)
        # Waiting on the requester pauses it: 1 h counted by 12:00; they answer at 14:00, so
        # the other hour runs from then.
        move(bot, at(19, 12))
        assert run(bot, "/case", "wait CASE-1")[2] == [
            "CASE-1 is waiting on the requester; its clocks are stopped."
        ]
        assert next_update(bot) is None
        move(bot, at(19, 14))
        assert say(bot, CUSTOMER, "here is the trace you asked for", root) == 200
        bot.settle()
        assert next_update(bot) == at(19, 15)
        # The requester's message does not reset the cadence; nothing fires before 15:00.
        move(bot, at(19, 14, 29))
        assert not [line for line in thread_lines(bot, root)[-1:] if ":hourglass" in line]
        move(bot, at(19, 14, 30))
        assert thread_lines(bot, root)[-1] == (
            f":hourglass_flowing_sand: CASE-1: update due {shown(at(19, 15))}, in 30 min. "
            f"<@{ENGINEER}>"
        )
