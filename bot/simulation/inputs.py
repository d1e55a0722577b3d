"""What a support lead types for a dry run, parsed into values; mistakes are one line each."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.timekeeping.calendars import Interval


class SimulationError(ValueError):
    """Input a support lead got wrong; the message is one line that says how to fix it."""


def parse_instant(text: str, what: str = "time") -> datetime:
    """An ISO 8601 instant with `Z` or an offset, as UTC. Naive times are refused."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SimulationError(
            f"{what} '{text}' is not an ISO 8601 time: write e.g. 2026-11-20T23:30:00Z"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise SimulationError(
            f"{what} '{text}' has no time zone: add Z for UTC or an offset such as +01:00"
        )
    return value.astimezone(UTC)


def parse_pause(text: str) -> Interval:
    """`FROM/TO`, two ISO 8601 instants; the pause must end after it starts."""
    parts = text.split("/")
    if len(parts) != 2:
        raise SimulationError(
            f"pause '{text}' is not FROM/TO: write e.g. 2026-11-23T06:00Z/2026-11-23T07:00Z"
        )
    start = parse_instant(parts[0], "pause start")
    end = parse_instant(parts[1], "pause end")
    if end < start:
        raise SimulationError(f"pause '{text}' ends before it starts: give FROM before TO")
    if end == start:
        raise SimulationError(f"pause '{text}' is empty: FROM and TO are the same instant")
    return start, end


def parse_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, available_timezones(), n=1)
        hint = f"did you mean {close[0]}?" if close else "use an IANA name like Europe/Berlin"
        raise SimulationError(f"unknown time zone '{name}': {hint}") from None
