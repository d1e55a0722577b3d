"""Who is on call at an instant: rotations in layers, with overrides. Pure: no I/O.

A layer hands its rotation on every `shift` from `start`, counted in the schedule's local
wall-clock time, so a weekly handoff at Monday 09:00 stays at 09:00 across daylight-saving
changes (the shift that contains the change is an hour shorter or longer). A layer with
`only` is active only in that weekly window (an overnight window, 18:00 to 09:00, runs from
the listed day into the next). Where several layers have someone, the later layer wins; an
override wins over every layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from itertools import pairwise

Naive = datetime  # local wall-clock time of the schedule, without a zone
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Window:
    """Days of the week (0 = Monday) and the local hours [start, end) on each."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: Naive) -> bool:
        t, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight: from `start` on a listed day to `end` on the next day.
        return (day in self.days and t >= self.start) or (
            (day - 1) % 7 in self.days and t < self.end
        )


@dataclass(frozen=True)
class Layer:
    rotation: tuple[str, ...]
    shift: timedelta
    start: Naive
    only: Window | None = None

    def __post_init__(self) -> None:
        if not self.rotation:
            raise ValueError("a rotation needs at least one person")
        if self.shift <= timedelta(0):
            raise ValueError("a shift must be longer than zero")

    def boundaries(self, start: Naive, end: Naive) -> Iterator[Naive]:
        """Local instants in [start, end) where this layer may change hands."""
        if end <= self.start:
            return
        first = max(start, self.start)
        turn = self.start + ((first - self.start) // self.shift) * self.shift
        while turn < end:
            if turn >= start:
                yield turn
            turn += self.shift
        if self.only is not None:
            day = datetime.combine(start.date(), time()) - timedelta(days=1)
            while day < end:
                for edge in (self.only.start, self.only.end):
                    at = datetime.combine(day.date(), edge)
                    if start <= at < end:
                        yield at
                day += timedelta(days=1)


@dataclass(frozen=True)
class Override:
    user: str
    start: Naive
    end: Naive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")


@dataclass(frozen=True)
class Schedule:
    name: str
    tz: tzinfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = field(default=())

    def local(self, instant: datetime) -> Naive:
        if instant.tzinfo is None:
            raise ValueError("pass an aware instant")
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def instant(self, local: Naive) -> datetime:
        """The UTC instant of a local time; a time skipped by a clock change counts as the
        moment after the change, a repeated one as its first occurrence."""
        first = local.replace(tzinfo=self.tz, fold=0).astimezone(UTC)
        if self.local(first) == local:
            return first  # it exists; fold=0 is its first occurrence if it repeats
        # In the gap of a spring-forward change: fold=0 reads it with the offset before the
        # change, which lands after the gap. Step back to the first minute past the gap.
        instant = first
        while self.local(instant - _MINUTE) > local:
            instant -= _MINUTE
        return instant

    def on_call(self, instant: datetime) -> str | None:
        """Who is on call at `instant`, or None if nobody is. Handoffs are compared as
        instants: naive local times are ambiguous in the hour an autumn change repeats."""
        local = self.local(instant)
        for override in reversed(self.overrides):
            if self.instant(override.start) <= instant < self.instant(override.end):
                return override.user
        for layer in reversed(self.layers):
            who = self._layer_at(layer, instant, local)
            if who is not None:
                return who
        return None

    def _layer_at(self, layer: Layer, instant: datetime, local: Naive) -> str | None:
        if instant < self.instant(layer.start):
            return None
        if layer.only is not None and not layer.only.contains(local):
            return None
        turns = max(0, (local - layer.start) // layer.shift)
        # Wall-clock arithmetic is off by one turn next to a clock change: settle on the
        # instants the handoffs actually happen.
        while turns > 0 and self.instant(layer.start + turns * layer.shift) > instant:
            turns -= 1
        while self.instant(layer.start + (turns + 1) * layer.shift) <= instant:
            turns += 1
        return layer.rotation[turns % len(layer.rotation)]

    def shifts(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str | None]]:
        """Who is on call from `start` to `end`, as consecutive (from, to, user) spans."""
        lo, hi = self.local(start), self.local(end)
        edges = {lo, hi}
        for layer in self.layers:
            edges.update(layer.boundaries(lo, hi))
        for override in self.overrides:
            edges.update(e for e in (override.start, override.end) if lo <= e < hi)
        instants = sorted({start, end, *(self.instant(e) for e in edges)})
        instants = [t for t in instants if start <= t <= end]
        out: list[tuple[datetime, datetime, str | None]] = []
        for a, b in pairwise(instants):
            who = self.on_call(a)
            if out and out[-1][2] == who:
                out[-1] = (out[-1][0], b, who)
            else:
                out.append((a, b, who))
        return out

    def next_handoff(
        self, instant: datetime, horizon: timedelta = timedelta(days=60)
    ) -> tuple[datetime, str | None] | None:
        """When the person on call next changes, and to whom, within `horizon`."""
        spans = self.shifts(instant, instant + horizon)
        return (spans[1][0], spans[1][2]) if len(spans) > 1 else None
