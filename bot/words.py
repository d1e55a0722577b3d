"""Durations as people say them, for messages and notes."""

from __future__ import annotations

from datetime import timedelta


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
