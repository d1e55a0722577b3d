"""Instants as integer microseconds, half-open spans of them, and the algorithms a calendar
runs over the stream of its open spans. Integers keep the arithmetic exact and cheap.

`SpanEngine` answers every question of the `Calendar` protocol (bot.timekeeping.calendars)
from the one method each calendar implements, `_open_from`; a calendar may add faster paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

Interval = tuple[datetime, datetime]
Span = tuple[int, int]

US = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // US


def to_us(t: datetime, what: str = "datetime") -> int:
    if not isinstance(t, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {t.isoformat()}")
    return (t - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def duration_us(duration: timedelta) -> int:
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    return duration // US


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sort and merge overlapping or touching half-open spans."""
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def pauses_us(pauses: Sequence[Interval], after: int) -> list[Span]:
    """Pauses as merged spans, keeping only those that end after `after`."""
    spans = []
    for p_start, p_end in pauses:
        a = to_us(p_start, "pause start")
        b = to_us(p_end, "pause end")
        if b > a and b > after:
            spans.append((a, b))
    return merge(spans)


def subtract(spans: Iterable[Span], pauses: list[Span]) -> Iterator[Span]:
    """The parts of sorted disjoint `spans` not covered by sorted merged `pauses`."""
    i, n = 0, len(pauses)
    for s, e in spans:
        while s < e:
            while i < n and pauses[i][1] <= s:
                i += 1
            if i == n or pauses[i][0] >= e:
                yield s, e
                break
            p_start, p_end = pauses[i]
            if p_start > s:
                yield s, p_start
            s = p_end


class SpanEngine:
    """Shared algorithms over `_open_from`, the stream of open spans of a calendar."""

    name: str
    day_length: timedelta

    def _open_from(self, ts: int, end: int | None = None) -> Iterator[Span]:
        """Sorted disjoint open spans clipped to start at `ts` or later.

        With `end` the stream stops before `end` (spans are not clipped to it); without it the
        stream is unbounded and raises ValueError if the calendar never opens again.
        """
        raise NotImplementedError

    def is_open(self, t: datetime) -> bool:
        raise NotImplementedError

    def add(
        self, start: datetime, duration: timedelta, pauses: Sequence[Interval] = ()
    ) -> datetime:
        ts = to_us(start, "start")
        need = duration_us(duration)
        spans = self._open_from(ts)
        if pauses:
            spans = subtract(spans, pauses_us(pauses, ts))
        for s, e in spans:
            if e - s >= need:
                return from_us(s + need)
            need -= e - s
        raise AssertionError("unreachable: the open-span stream is unbounded")

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Interval] = ()) -> timedelta:
        a = to_us(start, "start")
        b = to_us(end, "end")
        if b <= a:
            return timedelta(0)
        spans = self._open_from(a, b)
        if pauses:
            spans = subtract(spans, pauses_us(pauses, a))
        total = 0
        for s, e in spans:
            if s >= b:
                break
            total += (e if e < b else b) - s
        return timedelta(microseconds=total)

    def remaining(self, now: datetime, due: datetime, pauses: Sequence[Interval] = ()) -> timedelta:
        if to_us(now, "now") < to_us(due, "due"):
            return self.elapsed(now, due, pauses)
        return -self.elapsed(due, now, pauses)

    def next_opening(self, t: datetime) -> datetime:
        ts = to_us(t, "t")
        for s, _ in self._open_from(ts):
            return from_us(s)
        raise AssertionError("unreachable: the open-span stream is unbounded")

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        a = to_us(start, "start")
        b = to_us(end, "end")
        return self._intervals(a, b)

    def _intervals(self, a: int, b: int) -> Iterator[Interval]:
        if b <= a:
            return
        current: Span | None = None
        for s, e in self._open_from(a, b):
            if s >= b:
                break
            e = min(e, b)
            if current is not None and s == current[1]:
                current = (current[0], e)
                continue
            if current is not None:
                yield from_us(current[0]), from_us(current[1])
            current = (s, e)
        if current is not None:
            yield from_us(current[0]), from_us(current[1])
