"""The scalar types policy files are written in (durations, times of day, dates, weekdays,
Slack ids, slugs) and the strict base model, shared by the policy schema and its on-call
part."""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
)

from bot.policies.durations import (
    Duration,
    Reminder,
    Span,
    parse_duration,
    parse_reminder,
    parse_span,
)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _slack_id(kind: str, prefixes: str, example: str) -> AfterValidator:
    pattern = re.compile(rf"[{prefixes}][A-Z0-9]{{4,}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a {kind} id: use the id Slack shows, e.g. {example}"
            )
        return value

    return AfterValidator(check)


def _check_slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._\-]*", value):
        raise ValueError(
            f"'{value}' is not a usable id: use lowercase letters, digits, '.', '-' or '_'"
        )
    return value


def _parse_time(value: object, *, end: bool) -> time:
    if isinstance(value, time) and value == value.replace(second=0, microsecond=0, tzinfo=None):
        return value  # whole minutes of wall time only, so the HH:MM form round-trips
    text = value.strip() if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if end and (hour, minute) == (24, 0):
            return time(0, 0)  # midnight at the end of the day
        if hour < 24 and minute < 60:
            return time(hour, minute)
    upper = "24:00" if end else "23:59"
    raise ValueError(
        f"{value!r} is not a time of day: write HH:MM in quotes, from '00:00' to '{upper}'"
    )


def _parse_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-12-24")


_DAY_WORDS = {name: i for i, name in enumerate(DAY_NAMES)} | {
    name: i
    for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


def expand_days(value: object) -> tuple[str, ...]:
    """`[mon, tue]`, `[mon-fri]` or `mon-fri` -> ('mon', ...), in week order, no repeats."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("list the days the window opens on, e.g. [mon, tue, wed, thu, fri]")
    days: set[int] = set()
    for item in items:
        ends = [_DAY_WORDS.get(part.strip().lower()) for part in str(item).split("-")]
        if len(ends) > 2 or None in ends:
            raise ValueError(
                f"{item!r} is not a day: use mon, tue, wed, thu, fri, sat, sun or a range mon-fri"
            )
        first, last = ends[0], ends[-1]
        assert first is not None and last is not None
        # a range may wrap past Sunday: fri-mon is fri, sat, sun, mon
        days.update(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return tuple(DAY_NAMES[d] for d in sorted(days))


DurationField = Annotated[
    Duration, PlainValidator(parse_duration), PlainSerializer(str, return_type=str)
]
# Wall-clock time (a day is 24 hours, a week 7 days): shifts and escalation waits.
SpanField = Annotated[Span, PlainValidator(parse_span), PlainSerializer(str, return_type=str)]
ReminderField = Annotated[
    Reminder, PlainValidator(parse_reminder), PlainSerializer(str, return_type=str)
]
_time_out = PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)
StartTime = Annotated[time, PlainValidator(lambda v: _parse_time(v, end=False)), _time_out]
EndTime = Annotated[time, PlainValidator(lambda v: _parse_time(v, end=True)), _time_out]
ClosedDate = Annotated[date, PlainValidator(_parse_date), PlainSerializer(str, return_type=str)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Slug = Annotated[str, AfterValidator(_check_slug)]
ChannelId = Annotated[str, _slack_id("channel", "CG", "C0123ABCD (not the #name)")]
UserId = Annotated[str, _slack_id("user", "UW", "U0123ABCD")]
GroupId = Annotated[str, _slack_id("user group", "S", "S0123ABCD")]
TeamId = Annotated[str, _slack_id("workspace", "T", "T0123ABCD")]
Text = Annotated[str, Field(min_length=1)]


def _check_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s<>|]+", value) or len(value) > 500:
        raise ValueError(f"'{value[:60]}' is not a web address: write https://…")
    return value


Url = Annotated[str, AfterValidator(_check_url)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(value: str) -> str:
    """An IANA time zone name, or a ValueError suggesting the closest one."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, _zone_names(), n=1)
        hint = f"did you mean {close[0]}?" if close else "use an IANA name like Europe/Berlin"
        raise ValueError(f"unknown time zone '{value}': {hint}") from None
    return value


def _parse_stamp(value: object) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(second=0, microsecond=0)
    text = value.strip() if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})", text)
    if match:
        try:
            day = date.fromisoformat(match.group(1))
            return datetime.combine(day, _parse_time(match.group(2), end=False))
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is not a local date and time: write 'YYYY-MM-DD HH:MM' in quotes, "
        "e.g. '2026-12-24 18:00'"
    )


TimeZone = Annotated[str, AfterValidator(known_zone)]
# A wall-clock instant in a schedule's own time zone.
LocalStamp = Annotated[
    datetime,
    PlainValidator(_parse_stamp),
    PlainSerializer(lambda d: d.strftime("%Y-%m-%d %H:%M"), return_type=str),
]
