"""`/oncall` through the real endpoint: who is on call and who is next, a schedule's next
seven days, run-time overrides (support team only) that paging and handoffs follow, and
the direct message the incoming person gets at a handoff."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import OncallOverride, Timer
from tests.conftest import ENGINEER, Bot
from tests.support.cases import open_case
from tests.support.paging import LEAD, PRIMARY, SECOND, STRANGER, dm_to
from tests.support.slash_commands import run


def test_who_is_on_call_now_and_next(paging_bot: Bot) -> None:
    assert run(paging_bot, "/oncall", "")[2] == [
        f"*platform* (Europe/Berlin): <@{PRIMARY}> is on call; next <@{SECOND}> from "
        "Mon 12 Jan 2026 09:00 CET."
    ]


def test_a_schedule_for_the_next_seven_days(paging_bot: Bot) -> None:
    assert run(paging_bot, "/oncall", "platform")[2] == [
        "*platform* (Europe/Berlin), the next seven days:\n"
        f"• Sat 10 Jan 2026 04:00 CET to Mon 12 Jan 2026 09:00 CET: <@{PRIMARY}>\n"
        f"• Mon 12 Jan 2026 09:00 CET to Sat 17 Jan 2026 04:00 CET: <@{SECOND}>"
    ]
    assert run(paging_bot, "/oncall", "nosuch")[2] == [
        "No schedule `nosuch`: the schedules are `platform`."
    ]


def test_bad_override_text_is_answered_at_once_with_the_usage(paging_bot: Bot) -> None:
    status, ack, answers = run(paging_bot, "/oncall", f"override <@{LEAD}> tomorrow")
    assert (status, answers) == (200, [])
    assert ack is not None and ack["text"] == (
        "`tomorrow` is not a date and time: write `YYYY-MM-DD HH:MM`, e.g. `2026-12-24 18:00`."
    )
    _, ack, _ = run(paging_bot, "/oncall", f"override <@{LEAD}> 2026-01-10 18:00 2026-01-10 12:00")
    assert ack is not None and ack["text"] == "An override must end after it starts."
    assert paging_bot.count(OncallOverride) == 0


def test_an_override_covers_the_schedule_for_pages_and_handoffs(paging_bot: Bot) -> None:
    bot = paging_bot
    text = f"override <@{LEAD}> 2026-01-10 12:00 2026-01-10 18:00"
    assert run(bot, "/oncall", text, user=STRANGER)[2] == [
        "Only the support team can set on-call overrides."
    ]
    assert bot.count(OncallOverride) == 0
    assert run(bot, "/oncall", text + " platform", user=ENGINEER)[2] == [
        f"<@{LEAD}> covers *platform* from Sat 10 Jan 2026 12:00 CET to Sat 10 Jan 2026 18:00 CET."
    ]
    assert run(bot, "/oncall", "")[2] == [
        f"*platform* (Europe/Berlin): <@{PRIMARY}> is on call; next <@{LEAD}> from "
        "Sat 10 Jan 2026 12:00 CET."
    ]
    bot.clock.advance(timedelta(hours=8))  # 11:00 UTC, 12:00 in Berlin: the override begins
    bot.settle()
    handoff = dm_to(bot, LEAD)
    assert handoff.at.strftime("%H:%M") == "11:00"
    assert handoff.params["text"] == (
        "You are on call for *platform* from <!date^1768042800^{date_short_pretty} at "
        f"{{time}}|Sat 10 Jan 2026 11:00 UTC>, after <@{PRIMARY}>.\nNo case is open."
    )
    open_case(bot)  # a SEV1 now pages the person covering
    assert dm_to(bot, LEAD).params["text"].startswith(":rotating_light: You are paged for")
    assert run(bot, "/case", "ack CASE-1", user=LEAD)[2] == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]
    bot.clock.advance(timedelta(hours=6))  # 18:00 in Berlin: back to the rotation
    bot.settle()
    back = dm_to(bot, PRIMARY)
    assert back.params["text"].startswith(
        "You are on call for *platform* from <!date^1768064400^{date_short_pretty} at "
        f"{{time}}|Sat 10 Jan 2026 17:00 UTC>, after <@{LEAD}>.\nOpen cases (1):\n• "
    )
    with bot.runtime.sessions() as session:
        fired = session.execute(
            select(Timer.due_at).where(Timer.kind == "handoff", Timer.status == "fired")
        ).scalars()
        assert [t.strftime("%d %H:%M") for t in fired] == ["10 11:00", "10 17:00"]
