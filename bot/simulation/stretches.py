"""The time between a case's opening and a due time, as stretches: the open time counted,
and what was skipped and why (nights, weekends, named holidays, pauses)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Literal

from bot.policies.fields import DAY_NAMES
from bot.timekeeping.calendars import BusinessCalendar, Calendar, Interval

StretchKind = Literal["counted", "closed", "paused"]

# Closed time overlapping these local hours reads as "night" rather than "outside hours".
_NIGHT = (time(0), time(6))
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Closure:
    """One reason a stretch is closed: a holiday (with its date), `weekend`, `night`..."""

    label: str
    day: date | None = None


@dataclass(frozen=True)
class Stretch:
    """A piece of the time between the opening and a due time, all of one kind.

    `counted` is the open time this stretch contributed and `total` the open time counted
    from the opening to its end; both are zero for closed and paused stretches.
    """

    start: datetime
    end: datetime
    kind: StretchKind
    counted: timedelta = timedelta(0)
    total: timedelta = timedelta(0)
    closures: tuple[Closure, ...] = ()
    clock_change: str | None = None


def explain(
    calendar: Calendar, start: datetime, end: datetime, pauses: Sequence[Interval] = ()
) -> tuple[Stretch, ...]:
    """Split [start, end) into counted, closed and paused stretches, in order.

    Closed wins over paused: a pause over a weekend shows as the weekend, since the calendar
    would not have counted that time anyway.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    opens = list(calendar.open_intervals(start, end))
    paused = [(max(a, start), min(b, end)) for a, b in pauses if a < end and b > start]
    cuts = sorted({start, end, *(t for span in (*opens, *paused) for t in span if start < t < end)})
    pieces: list[tuple[datetime, datetime, StretchKind]] = []
    for a, b in pairwise(cuts):
        kind: StretchKind = (
            "closed" if not _inside(opens, a) else "paused" if _inside(paused, a) else "counted"
        )
        if pieces and pieces[-1][2] == kind:
            pieces[-1] = (pieces[-1][0], b, kind)
        else:
            pieces.append((a, b, kind))

    stretches = []
    total = timedelta(0)
    for a, b, kind in pieces:
        counted = b - a if kind == "counted" else timedelta(0)
        total += counted
        stretches.append(
            Stretch(
                start=a,
                end=b,
                kind=kind,
                counted=counted,
                total=total if kind == "counted" else timedelta(0),
                closures=_closures(calendar, a, b) if kind == "closed" else (),
                clock_change=_clock_change(calendar, a, b),
            )
        )
    return tuple(stretches)


def _inside(spans: Iterable[Interval], t: datetime) -> bool:
    return any(a <= t < b for a, b in spans)


def _overlaps(a: datetime, b: datetime, start: datetime, end: datetime) -> bool:
    return a.astimezone(UTC) < end and b.astimezone(UTC) > start


def _closures(calendar: Calendar, start: datetime, end: datetime) -> tuple[Closure, ...]:
    """Why [start, end) is closed, judged by the local dates it touches.

    A holiday counts when the hours it cancelled fall in the stretch; days with no hours at
    all are the weekend. When neither applies the stretch is simply between opening hours.
    """
    if not isinstance(calendar, BusinessCalendar):
        return ()
    tz = calendar.tz
    # From the day before: a window running past midnight reaches into the next date.
    day = start.astimezone(tz).date() - _DAY
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    open_days = {w.weekday for w in calendar.windows}
    found: list[Closure] = []
    off_run: list[date] = []
    night = False
    while day <= last:
        if day.weekday() not in open_days:
            whole_day = _window_on(day, time(0), time(0), tz)
            if _overlaps(*whole_day, start, end):
                off_run.append(day)
            day += _DAY
            continue
        found += _days_off(off_run)
        off_run = []
        if day in calendar.closed and any(
            _overlaps(*_window_on(day, w.start, w.end, tz), start, end)
            for w in calendar.windows
            if w.weekday == day.weekday()
        ):
            found.append(Closure(_holiday_name(calendar.closed, day), day))
        night = night or _overlaps(*_window_on(day, *_NIGHT, tz), start, end)
        day += _DAY
    found += _days_off(off_run)
    if found:
        return tuple(found)
    return (Closure("night" if night else "outside hours"),)


def _window_on(day: date, start: time, end: time, tz: tzinfo) -> Interval:
    end_day = day + _DAY if end <= start else day
    return datetime.combine(day, start, tz), datetime.combine(end_day, end, tz)


def _days_off(days: list[date]) -> list[Closure]:
    """Consecutive days without opening hours, as one reason."""
    if not days:
        return []
    if all(d.weekday() >= 5 for d in days):
        return [Closure("weekend")]
    names = sorted({d.weekday() for d in days})
    return [Closure("not open on " + ", ".join(DAY_NAMES[n].title() for n in names))]


def _holiday_name(closed: object, day: date) -> str:
    """The name from a `holidays` object; a plain set of dates only says the date is closed."""
    get = getattr(closed, "get", None)
    name = get(day) if callable(get) else None
    return str(name) if name else "closed date"


def _clock_change(calendar: Calendar, start: datetime, end: datetime) -> str | None:
    """`CEST -> CET` when the calendar's zone changes offset inside the stretch."""
    if not isinstance(calendar, BusinessCalendar):
        return None
    a, b = start.astimezone(calendar.tz), end.astimezone(calendar.tz)
    if a.utcoffset() == b.utcoffset():
        return None
    return f"{a.tzname()} -> {b.tzname()}"
