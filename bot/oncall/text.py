"""What `/oncall` says about a schedule. Pure: a schedule and an instant in, text out."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.timekeeping.rotations import Schedule
from bot.words import readable


def _local(schedule: Schedule, instant: datetime) -> str:
    return readable(instant, schedule.tz)


def _who(user: str | None) -> str:
    return f"<@{user}>" if user else "nobody"


def now_and_next(schedule: Schedule, now: datetime) -> str:
    """`*platform* (Europe/Berlin): <@U1> is on call; next <@U2> from Mon 12 Jan ...`."""
    head = f"*{schedule.name}* ({schedule.tz}): {_who(schedule.on_call(now))} is on call"
    handoff = schedule.next_handoff(now)
    if handoff is None:
        return f"{head}; no handoff in the next 60 days."
    at, user = handoff
    return f"{head}; next {_who(user)} from {_local(schedule, at)}."


def week(schedule: Schedule, now: datetime) -> str:
    """Who is on call from now for seven days, shift by shift."""
    lines = [f"*{schedule.name}* ({schedule.tz}), the next seven days:"]
    for start, end, user in schedule.shifts(now, now + timedelta(days=7)):
        lines.append(f"• {_local(schedule, start)} to {_local(schedule, end)}: {_who(user)}")
    return "\n".join(lines)
