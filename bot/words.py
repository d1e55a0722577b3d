"""Durations and instants as people read them, for messages and notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def span(d: timedelta) -> str:
    """A duration as people say it: "15 min", "2 h 5 min", "3 d 4 h"."""
    minutes = max(0, round(d.total_seconds() / 60))
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def readable(instant: datetime, tz: tzinfo = UTC) -> str:
    """An instant in a zone, as people read it: "Mon 12 Jan 2026 09:00 CET"."""
    local = instant.astimezone(tz)
    return local.strftime("%a %d %b %Y %H:%M ") + (local.tzname() or str(tz))
