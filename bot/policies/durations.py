"""Durations and reminder offsets as support leads write them: `15m`, `2h`, `1h30m`, `1d 4h`.

A day (`d`) is a business day of the severity's calendar, so its length is only known once
the calendar is: a Duration keeps days and seconds apart and converts with `to_timedelta`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([a-z]+)")
_SHAPE = re.compile(r"(?:\d+\s*[a-z]+\s*)+")
_HINT = "use a number followed by d, h, m or s, e.g. 15m, 2h, 1d"


@dataclass(frozen=True, slots=True)
class Duration:
    """Whole business days plus seconds; both non-negative and not both zero once parsed."""

    days: int = 0
    seconds: int = 0

    def to_timedelta(self, day_length: timedelta) -> timedelta:
        """The duration in open time, counting each day as `day_length`."""
        return self.days * day_length + timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        parts = [
            f"{value}{unit}"
            for value, unit in ((self.days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
            if value
        ]
        return "".join(parts) or "0s"


def parse_duration(value: object) -> Duration:
    """Parse `1h30m`, `1d 4h`, `90s`... Raises ValueError with a message fit for a support lead."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 15m, 2h or 1d, got {value!r}")
    text = str(value).strip().lower()
    if text.startswith("-"):
        raise ValueError(f"'{value}' is negative: a duration must be longer than zero")
    if re.search(r"\d[.,]\d", text):
        raise ValueError(f"'{value}' has a fraction: use whole numbers, e.g. 1h30m for 1.5h")
    if not _SHAPE.fullmatch(text):
        raise ValueError(f"'{value}' is not a duration: {_HINT}")
    days = seconds = 0
    seen: set[str] = set()
    for number, unit in _PART.findall(text):
        if unit != "d" and unit not in _UNIT_SECONDS:
            raise ValueError(f"'{value}' is not a duration: {_HINT}")
        if unit in seen:
            raise ValueError(f"'{value}' names the unit '{unit}' twice: write it once, e.g. 1h30m")
        seen.add(unit)
        if unit == "d":
            days = int(number)
        else:
            seconds += int(number) * _UNIT_SECONDS[unit]
    if days == 0 and seconds == 0:
        raise ValueError(f"'{value}' is zero: a duration must be longer than zero")
    return Duration(days=days, seconds=seconds)


@dataclass(frozen=True, slots=True)
class Reminder:
    """When to remind before a target: after `percent` of it has elapsed, or `before` it is due.

    Exactly one of the two is set.
    """

    percent: float | None = None
    before: Duration | None = None

    def fires_after(self, target: timedelta, day_length: timedelta) -> timedelta:
        """Open time from the start of the target's clock until this reminder is due."""
        if self.percent is not None:
            return target * (self.percent / 100)
        assert self.before is not None
        return target - self.before.to_timedelta(day_length)

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        return f"{self.before} before"


_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_BEFORE = re.compile(r"(.+?)\s+before")
_REMINDER_HINT = "write a percentage of the target such as '50%' or a time such as '15m before'"


def parse_reminder(value: object) -> Reminder:
    """Parse `50%` or `15m before`. Raises ValueError naming the accepted forms."""
    if isinstance(value, Reminder):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a reminder: {_REMINDER_HINT}")
    text = value.strip().lower()
    if match := _PERCENT.fullmatch(text):
        percent = float(match.group(1))
        if not 0 < percent < 100:
            raise ValueError(
                f"reminder '{value}' is not before the target is due: "
                "use a percentage above 0% and below 100%"
            )
        return Reminder(percent=percent)
    if match := _BEFORE.fullmatch(text):
        return Reminder(before=parse_duration(match.group(1)))
    raise ValueError(f"'{value}' is not a reminder: {_REMINDER_HINT}")


_SPAN_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SPAN_HINT = "use a number followed by w, d, h, m or s, e.g. 10m, 12h, 1d, 1w"


class Span(timedelta):
    """Wall-clock time, as written (`1w`, `12h`, `10m`): a day is 24 hours, a week 7 days.
    On-call shifts and escalation waits run around the clock, unlike SLA targets."""

    def __str__(self) -> str:
        left = int(self.total_seconds())
        parts = []
        for unit, size in _SPAN_SECONDS.items():
            count, left = divmod(left, size)
            if count:
                parts.append(f"{count}{unit}")
        return "".join(parts) or "0s"


def parse_span(value: object) -> Span:
    """Parse `1w`, `1d`, `2h30m`, `10m`. Raises ValueError with a message fit for a lead."""
    if isinstance(value, Span):
        return value
    if isinstance(value, timedelta):
        return Span(seconds=value.total_seconds())
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration such as 10m, 12h or 1w, got {value!r}")
    text = value.strip().lower()
    if text.startswith("-"):
        raise ValueError(f"'{value}' is negative: a duration must be longer than zero")
    if not _SHAPE.fullmatch(text):
        raise ValueError(f"'{value}' is not a duration: {_SPAN_HINT}")
    seconds, seen = 0, set()
    for number, unit in _PART.findall(text):
        if unit not in _SPAN_SECONDS:
            raise ValueError(f"'{value}' is not a duration: {_SPAN_HINT}")
        if unit in seen:
            raise ValueError(f"'{value}' names the unit '{unit}' twice: write it once, e.g. 1h30m")
        seen.add(unit)
        seconds += int(number) * _SPAN_SECONDS[unit]
    if seconds == 0:
        raise ValueError(f"'{value}' is zero: a duration must be longer than zero")
    return Span(seconds=seconds)
