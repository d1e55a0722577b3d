"""Business-hours calendars: exact arithmetic on open time for SLA clocks.

The semantics (what "open" means across midnight, DST changes and closed dates) are recorded in
docs/decisions/0002-calendar-semantics.md. Everything here is pure: no I/O, no clock.

Internally instants are integer microseconds since the Unix epoch (UTC), so all arithmetic is
exact and cheap (bot.timekeeping.spans). Open time is precomputed lazily per UTC day ("bucket")
from the weekly windows of the local dates that can reach into that day; both levels are
memoised.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.timekeeping.spans import (
    EPOCH,
    FAR_FUTURE,
    US,
    Interval,
    Span,
    SpanEngine,
    duration_us,
    from_us,
    merge,
    to_us,
)

__all__ = ["AlwaysOpen", "BusinessCalendar", "Calendar", "Interval", "WeeklyWindow"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_HOUR = 3_600_000_000
_DAY = 24 * _HOUR
# Bound on |UTC offset| for any zone (real ones stay within -12h..+14h, LMT within 16h).
_MAX_OFFSET = 26 * _HOUR
# Offsets are sampled this far apart to find DST transitions; tz data never has two
# transitions that cancel out within six hours.
_PROBE = 6 * _HOUR
# A search for the next open instant gives up after this many consecutive closed days.
_MAX_CLOSED_DAYS = 3 * 366
_CACHE_DAYS = 8192


@dataclass(frozen=True)
class WeeklyWindow:
    """Open hours that start every week on `weekday` (0=Monday) at local wall time `start`.

    `end <= start` means the window crosses midnight and ends on the next day; `end == start`
    means a full 24 hours.
    """

    weekday: int
    start: time
    end: time


@runtime_checkable
class Calendar(Protocol):
    name: str
    day_length: timedelta

    def is_open(self, t: datetime) -> bool: ...

    def add(
        self, start: datetime, duration: timedelta, pauses: Sequence[Interval] = ()
    ) -> datetime: ...

    def elapsed(
        self, start: datetime, end: datetime, pauses: Sequence[Interval] = ()
    ) -> timedelta: ...

    def remaining(
        self, now: datetime, due: datetime, pauses: Sequence[Interval] = ()
    ) -> timedelta: ...

    def next_opening(self, t: datetime) -> datetime: ...

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]: ...


class AlwaysOpen(SpanEngine):
    """A 24/7 calendar: every instant is open; only pauses stop the clock."""

    def __init__(self, name: str = "24/7") -> None:
        self.name = name
        self.day_length = timedelta(hours=24)

    def __repr__(self) -> str:
        return f"AlwaysOpen({self.name!r})"

    def _open_from(self, ts: int, end: int | None = None) -> Iterator[Span]:
        yield ts, (FAR_FUTURE if end is None else max(end, ts))

    def is_open(self, t: datetime) -> bool:
        to_us(t, "t")
        return True


class BusinessCalendar(SpanEngine):
    """Weekly open windows in a time zone, minus closed local dates."""

    def __init__(
        self,
        name: str,
        tz: str | tzinfo,
        windows: Iterable[WeeklyWindow],
        closed: Container[date] = frozenset(),
        day_length: timedelta | None = None,
    ) -> None:
        self.name = name
        self.tz = _resolve_tz(tz)
        self.windows = tuple(windows)
        self.closed = closed
        if not self.windows:
            raise ValueError(f"calendar {name!r} needs at least one weekly window")

        by_weekday: list[list[Span]] = [[] for _ in range(7)]
        for w in self.windows:
            _check_window(name, w)
            s = _time_us(w.start)
            e = _time_us(w.end)
            if e <= s:
                e += _DAY
            by_weekday[w.weekday].append((s, e))
        self._spans = tuple(tuple(merge(spans)) for spans in by_weekday)
        self._max_end = max(spans[-1][1] for spans in self._spans if spans)

        if day_length is None:
            day_length = timedelta(
                microseconds=max(sum(e - s for s, e in spans) for spans in self._spans)
            )
        elif not isinstance(day_length, timedelta) or day_length <= timedelta(0):
            raise ValueError(f"day_length must be a positive timedelta, got {day_length!r}")
        self.day_length = day_length

        self._local_day: Callable[[int], tuple[Span, ...]] = lru_cache(maxsize=_CACHE_DAYS)(
            self._compute_local_day
        )
        self._bucket: Callable[[int], tuple[tuple[Span, ...], int]] = lru_cache(
            maxsize=_CACHE_DAYS
        )(self._compute_bucket)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {str(getattr(self.tz, 'key', self.tz))!r})"

    # -- precomputation -------------------------------------------------------------------

    def _offset(self, us: int) -> int:
        off = (EPOCH + timedelta(microseconds=us)).astimezone(self.tz).utcoffset()
        assert off is not None
        return off // US

    def _offset_pieces(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """[(from, to, utc_offset)] covering UTC [lo, hi), split at every offset change."""
        pieces = []
        piece_start = p = lo
        current = self._offset(lo)
        while p < hi:
            q = min(p + _PROBE, hi)
            if self._offset(q) == current:
                p = q
                continue
            # Binary search for the first instant in (p, q] with a different offset.
            left, right = p, q
            while right - left > 1:
                mid = (left + right) // 2
                if self._offset(mid) == current:
                    left = mid
                else:
                    right = mid
            pieces.append((piece_start, right, current))
            piece_start = p = right
            current = self._offset(right)
        pieces.append((piece_start, hi, current))
        return pieces

    def _compute_local_day(self, day: int) -> tuple[Span, ...]:
        """Open UTC spans of the windows that start on local date `day` (days since epoch)."""
        spans = self._spans[(day + 3) % 7]  # 1970-01-01 was a Thursday
        if not spans or date.fromordinal(day + _EPOCH_ORDINAL) in self.closed:
            return ()
        base = day * _DAY
        # Wall time w happens at UTC w - offset, so the windows' instants lie within these bounds.
        pieces = self._offset_pieces(
            base + spans[0][0] - _MAX_OFFSET, base + spans[-1][1] + _MAX_OFFSET
        )
        out = []
        for s, e in spans:
            wall_start, wall_end = base + s, base + e
            for lo, hi, off in pieces:
                a = max(lo, wall_start - off)
                b = min(hi, wall_end - off)
                if a < b:
                    out.append((a, b))
        return tuple(merge(out))

    def _compute_bucket(self, k: int) -> tuple[tuple[Span, ...], int]:
        """Merged open spans within UTC day `k`, and their total length."""
        lo = k * _DAY
        hi = lo + _DAY
        first = (lo - _MAX_OFFSET - self._max_end) // _DAY
        last = (hi + _MAX_OFFSET) // _DAY
        out = []
        for day in range(first, last + 1):
            for s, e in self._local_day(day):
                if s < lo:
                    s = lo
                if e > hi:
                    e = hi
                if s < e:
                    out.append((s, e))
        merged = tuple(merge(out))
        return merged, sum(e - s for s, e in merged)

    def _open_from(self, ts: int, end: int | None = None) -> Iterator[Span]:
        k = ts // _DAY
        last = None if end is None else (end - 1) // _DAY
        closed_run = 0
        while last is None or k <= last:
            spans, _ = self._bucket(k)
            if spans:
                closed_run = 0
                for s, e in spans:
                    if e > ts:
                        yield (s if s > ts else ts), e
            elif last is None:
                closed_run += 1
                if closed_run > _MAX_CLOSED_DAYS:
                    raise ValueError(
                        f"calendar {self.name!r} has no open time within {_MAX_CLOSED_DAYS} days"
                        f" after {from_us(ts).isoformat()}"
                    )
            k += 1

    # -- fast paths -----------------------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        ts = to_us(t, "t")
        spans, _ = self._bucket(ts // _DAY)
        i = bisect_right(spans, (ts, FAR_FUTURE)) - 1
        return i >= 0 and spans[i][1] > ts

    def add(
        self, start: datetime, duration: timedelta, pauses: Sequence[Interval] = ()
    ) -> datetime:
        if pauses:
            return super().add(start, duration, pauses)
        ts = to_us(start, "start")
        need = duration_us(duration)
        k = ts // _DAY
        bucket = self._bucket
        closed_run = 0
        while True:
            spans, total = bucket(k)
            if spans:
                closed_run = 0
                if total < need and spans[0][0] >= ts:
                    need -= total
                else:
                    for s, e in spans:
                        if e <= ts:
                            continue
                        if s < ts:
                            s = ts
                        if e - s >= need:
                            return from_us(s + need)
                        need -= e - s
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_DAYS:
                    # The generic path raises the descriptive error.
                    return super().add(start, duration)
            k += 1

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Interval] = ()) -> timedelta:
        if pauses:
            return super().elapsed(start, end, pauses)
        a = to_us(start, "start")
        b = to_us(end, "end")
        total = 0
        bucket = self._bucket
        for k in range(a // _DAY, (b - 1) // _DAY + 1) if b > a else ():
            spans, day_total = bucket(k)
            if not spans:
                continue
            if spans[0][0] >= a and spans[-1][1] <= b:
                total += day_total
                continue
            for s, e in spans:
                if s < a:
                    s = a
                if e > b:
                    e = b
                if s < e:
                    total += e - s
        return timedelta(microseconds=total)


def _resolve_tz(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
    if isinstance(tz, tzinfo):
        if hasattr(tz, "localize"):
            # pytz zones ignore `fold` and report LMT offsets for unlocalized datetimes.
            raise ValueError(f"pytz time zones are not supported; pass the name ({tz})")
        return tz
    raise TypeError(f"tz must be a zone name or tzinfo, got {type(tz).__name__}")


def _check_window(name: str, w: WeeklyWindow) -> None:
    if not isinstance(w, WeeklyWindow):
        raise TypeError(f"calendar {name!r}: expected WeeklyWindow, got {type(w).__name__}")
    if isinstance(w.weekday, bool) or not isinstance(w.weekday, int) or not 0 <= w.weekday <= 6:
        raise ValueError(
            f"calendar {name!r}: weekday must be 0 (Monday) to 6 (Sunday), got {w.weekday!r}"
        )
    for label, value in (("start", w.start), ("end", w.end)):
        if not isinstance(value, time):
            raise ValueError(f"calendar {name!r}: window {label} must be a time, got {value!r}")
        if value.tzinfo is not None:
            raise ValueError(
                f"calendar {name!r}: window {label} is local wall time and must be naive"
            )


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
