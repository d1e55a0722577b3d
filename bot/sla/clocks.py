"""The SLA clocks of one case, derived from its history.

Clocks are never stored: they are recomputed from the case's events, so a severity change,
a replay or an explanation ("why is this due Monday 09:30?") always gives the same answer.
Pure functions: no I/O, and the current instant is passed in.

Rules:

- **First response** counts from `opened` until the first `responder_reply`.
- **Next response**: once a responder has replied, a `requester_message` with no clock
  running starts a next-response clock at that message; further requester messages leave it
  running from the oldest unanswered one, and the next responder reply satisfies it.
  Requester messages before the first reply are covered by the first-response clock.
- **Resolution** counts from `opened` until `resolved`. Resolving also stops any response
  clock still running, as its answer (as Jira Service Management's "Resolution: Set" does);
  a case resolved after a response was due still breached it. Events after `resolved` are
  ignored, a closed case having no clocks to run, until `reopened`.
- **Update cadence** (`update_every`): each `responder_reply` starts an update clock (and
  meets the one running), so from the first response on a responder's message is due
  within the target of the last one. Resolving stops it; after a reopening it starts again
  with the next reply. Pauses stop it like any clock.
- **Reopening** starts a next-response clock (someone waits for an answer again) and a fresh
  resolution clock at the reopening; the clocks of before stay as they were judged.
- **Pauses**: from `waiting_on_requester` until `resumed` or the next `requester_message`
  no time counts on any clock. Pauses extend due times through the calendar's `pauses=`.
  A pause still open at `now` is counted up to `now`: the clock is `paused` and its due time
  is the one it would have if the requester answered now.
- **Severity changes**: a clock still running when the severity changes is recomputed from
  its own start (opening, or the requester message that started it) under the new
  severity's target and calendar. A due time already past at the change is a breach at
  once. A clock that was satisfied before the change keeps the severity it was met under,
  so a change never re-judges an answer that was already given.
- **Breach**: `due_at` is the instant the whole target has been counted without an answer,
  so a clock breaches at `due_at` unless it was met before it; an answer at or after
  `due_at` is late and is a breach too.
- Events later than `now` are ignored, so `deadlines(policy, events, t)` is the state as it
  was at `t`. Events must be in time order; those at the same instant apply in list order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from bot.policies.durations import Duration
from bot.policies.policy import Policy
from bot.policies.severities import TargetKind

__all__ = [
    "ClockEvent",
    "Deadline",
    "PlannedTimer",
    "breached",
    "clock_of",
    "deadlines",
    "planned_timers",
    "schedule",
]

EventKind = Literal[
    "opened",
    "requester_message",
    "responder_reply",
    "waiting_on_requester",
    "resumed",
    "severity_changed",
    "resolved",
    "reopened",
]
_EVENT_KINDS = frozenset(get_args(EventKind))

Interval = tuple[datetime, datetime]
# (kind such as "first_response:reminder" or "first_response:breach", instant, reason)


@dataclass(frozen=True)
class ClockEvent:
    """Something that happened on a case. `severity` is set for opened and severity_changed;
    an `opened` event without one starts at the policy's initial severity."""

    at: datetime
    kind: EventKind
    severity: str | None = None


@dataclass(frozen=True)
class Deadline:
    """One clock of a case, as it stands at the `now` it was computed for.

    `due_at` is None when the severity has no such target. `reminders` are the instants the
    severity's reminders fire, on the calendar with the pauses considered; for a met clock
    only those before it was met. `pauses` are the clock's own pauses, clipped to the time
    it ran. `paused` means the case was waiting on the requester at `now`.
    """

    kind: TargetKind
    severity: str
    started_at: datetime
    target: timedelta | None
    due_at: datetime | None
    met_at: datetime | None
    reminders: tuple[datetime, ...] = ()
    pauses: tuple[Interval, ...] = ()
    paused: bool = False
    # Stopped by resolving the case rather than answered: no response was given.
    by_resolution: bool = False


@dataclass
class _Clock:
    kind: TargetKind
    started_at: datetime
    met_at: datetime | None = None
    met_severity: str | None = None
    by_resolution: bool = False

    def stop(self, at: datetime, severity: str, by_resolution: bool = False) -> None:
        if self.met_at is None:
            self.met_at = at
            self.met_severity = severity
            self.by_resolution = by_resolution


def deadlines(policy: Policy, events: Sequence[ClockEvent], now: datetime) -> list[Deadline]:
    """Every clock of the case at `now`: first response, each next response, resolution."""
    now = _utc(now, "now")
    if not events or events[0].kind != "opened":
        raise ValueError("a case's history must start with its 'opened' event")
    severity = ""
    first: _Clock | None = None
    resolution: _Clock | None = None
    responses: list[_Clock] = []
    current: _Clock | None = None  # the running next-response clock
    pauses: list[Interval] = []
    paused_since: datetime | None = None
    previous: datetime | None = None
    resolved = False
    resolutions: list[_Clock] = []  # the opening's, then one per reopening
    updates: list[_Clock] = []  # one per responder reply: the next update is due from it
    update: _Clock | None = None  # the running update clock
    for i, event in enumerate(events):
        at = _utc(event.at, f"events[{i}].at")
        if event.kind not in _EVENT_KINDS:
            raise ValueError(f"events[{i}]: unknown event kind {event.kind!r}")
        if previous is not None and at < previous:
            raise ValueError(f"events[{i}] at {at.isoformat()} is earlier than the one before")
        previous = at
        if event.kind == "opened" and i:
            raise ValueError(f"events[{i}]: a case opens once")
        if at > now:
            break
        if event.kind == "reopened":
            if resolved:
                # Someone is waiting for an answer again: a next-response clock and a fresh
                # resolution clock start at the reopening.
                resolved = False
                resolution = _Clock("resolution", at)
                resolutions.append(resolution)
                current = _Clock("next_response", at)
                responses.append(current)
            continue
        if resolved:
            continue  # resolved: nothing after it moves a clock until it is reopened
        if event.kind == "opened":
            severity = (
                _severity_id(policy, event.severity)
                if event.severity
                else policy.initial_severity.id
            )
            first = _Clock("first_response", at)
            resolution = _Clock("resolution", at)
            resolutions.append(resolution)
        elif event.kind == "severity_changed":
            if not event.severity:
                raise ValueError(f"events[{i}]: severity_changed needs the new severity")
            severity = _severity_id(policy, event.severity)
        elif event.kind == "responder_reply":
            assert first is not None
            for clock in (first, current, update):
                if clock is not None:
                    clock.stop(at, severity)
            current = None
            update = _Clock("update_every", at)
            updates.append(update)
        elif event.kind == "requester_message":
            if paused_since is not None:
                pauses.append((paused_since, at))
                paused_since = None
            assert first is not None
            if first.met_at is not None and current is None:
                current = _Clock("next_response", at)
                responses.append(current)
        elif event.kind == "waiting_on_requester":
            if paused_since is None:
                paused_since = at
        elif event.kind == "resumed":
            if paused_since is not None:
                pauses.append((paused_since, at))
                paused_since = None
        else:  # resolved
            assert first is not None and resolution is not None
            for clock in (first, current, resolution, update):
                if clock is not None:
                    clock.stop(at, severity, by_resolution=clock is not resolution)
            current = None
            update = None
            resolved = True
            if paused_since is not None:
                pauses.append((paused_since, at))
                paused_since = None
    if first is None or resolution is None:
        raise ValueError(f"the case opened at {events[0].at.isoformat()}, after now")
    if paused_since is not None:
        pauses.append((paused_since, now))
    found = [
        _deadline(policy, clock, severity, pauses, now, paused_since is not None)
        for clock in (first, *responses, *resolutions, *updates)
    ]
    # An update clock is there only where the severity it runs under has a cadence.
    return [d for d in found if d.kind != "update_every" or d.target is not None]


def breached(deadline: Deadline, now: datetime) -> bool:
    """Whether the target was missed by `now`: unanswered at its due time, or answered late."""
    if deadline.due_at is None or now < deadline.due_at:
        return False
    return deadline.met_at is None or deadline.met_at >= deadline.due_at


@dataclass(frozen=True)
class PlannedTimer:
    """A timer a case should have: `what` ("reminder" or "breach") for the `target` clock
    that started at `clock_start` and is due at `due_at`, firing at `fire_at`."""

    target: TargetKind
    what: Literal["reminder", "breach"]
    fire_at: datetime
    due_at: datetime
    clock_start: datetime
    reason: str

    @property
    def clock(self) -> tuple[str, datetime]:
        """Which clock of the case this is about: a target breaches once per clock."""
        return (self.target, self.clock_start)


def planned_timers(
    policy: Policy,
    events: Sequence[ClockEvent],
    now: datetime,
    breached_clocks: Collection[tuple[str, datetime]] = (),
) -> list[PlannedTimer]:
    """The timers the case should have pending at `now`, ordered by instant then kind.

    For each running, unpaused clock with a target: its reminders not before `now` and its
    breach at `due_at`. For each breached clock (including one answered late): its breach at
    `due_at`, already past, so it fires at once, unless that clock is in `breached_clocks`
    (its breach was announced already: moving severity up and down never announces the same
    miss twice). A paused clock gets no future timers; the event that resumes it recomputes
    them. This is the complete set: when a severity change or a pause moves due times, it
    replaces the case's pending timers.
    """
    now = _utc(now, "now")
    out: list[PlannedTimer] = []
    for d in deadlines(policy, events, now):
        if d.due_at is None or d.target is None:
            continue
        if (d.kind, d.started_at) in breached_clocks:
            continue
        label = f"{d.kind.replace('_', ' ')} ({d.severity}, {_fmt(d.target)})"
        if breached(d, now):
            late = f", answered {_stamp(d.met_at)}" if d.met_at is not None else ""
            reason = f"{label} was due {_stamp(d.due_at)}{late}"
            out.append(PlannedTimer(d.kind, "breach", d.due_at, d.due_at, d.started_at, reason))
            continue
        if d.met_at is not None or d.paused:
            continue
        calendar = policy.calendar_for(d.severity)
        for at in d.reminders:
            if at >= now:
                left = calendar.elapsed(at, d.due_at, d.pauses)
                reason = f"{label} due {_stamp(d.due_at)}, {_fmt(left)} left"
                out.append(PlannedTimer(d.kind, "reminder", at, d.due_at, d.started_at, reason))
        reason = f"{label} due {_stamp(d.due_at)}"
        out.append(PlannedTimer(d.kind, "breach", d.due_at, d.due_at, d.started_at, reason))
    return sorted(out, key=lambda t: (t.fire_at, f"{t.target}:{t.what}"))


def clock_of(
    found: Sequence[Deadline], target: str, clock_start: datetime | None
) -> Deadline | None:
    """The deadline of the clock a timer was made for: by its start, or the first of its
    kind for a timer that does not say (rows from before timers carried their clock)."""
    for d in found:
        if d.kind == target and (clock_start is None or d.started_at == clock_start):
            return d
    return None


def schedule(
    policy: Policy,
    severity: str,
    kind: TargetKind,
    started_at: datetime,
    pauses: Sequence[Interval] = (),
) -> tuple[datetime | None, tuple[datetime, ...]]:
    """When a `kind` clock of `severity` started at `started_at` is due, and when its
    reminders fire, on the severity's calendar with `pauses` skipped: the one computation
    of due times, for the running bot and for `policy simulate` alike."""
    target = policy.target(severity, kind)
    if target is None:
        return None, ()
    calendar = policy.calendar_for(severity)
    due_at = calendar.add(started_at, target, pauses)
    reminders = tuple(
        calendar.add(started_at, offset, pauses)
        for offset in policy.reminder_offsets(severity, kind)
    )
    return due_at, reminders


def _deadline(
    policy: Policy,
    clock: _Clock,
    severity: str,
    pauses: list[Interval],
    now: datetime,
    paused: bool,
) -> Deadline:
    severity = clock.met_severity or severity
    stop = clock.met_at or now
    own = tuple(
        (max(a, clock.started_at), min(b, stop))
        for a, b in pauses
        if min(b, stop) > max(a, clock.started_at)
    )
    target = policy.target(severity, clock.kind)
    due_at, reminders = schedule(policy, severity, clock.kind, clock.started_at, own)
    if clock.met_at is not None:
        met = clock.met_at
        reminders = tuple(at for at in reminders if at < met)
    return Deadline(
        kind=clock.kind,
        severity=severity,
        started_at=clock.started_at,
        target=target,
        due_at=due_at,
        met_at=clock.met_at,
        reminders=reminders,
        pauses=own,
        paused=paused and clock.met_at is None,
        by_resolution=clock.by_resolution,
    )


def _severity_id(policy: Policy, name: str) -> str:
    found = policy.severity(name)
    if found is None:
        raise ValueError(f"policy '{policy.id}' has no severity '{name}'")
    return found.id


def _utc(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _fmt(d: timedelta) -> str:
    return str(Duration(seconds=int(d.total_seconds())))
