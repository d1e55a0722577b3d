"""Dry runs of a policy: when would a case opened at a given time be due, and why.

`simulate` works out, for one severity of a policy, every target's due time, its reminders
and the page, together with the stretches of time between the opening and each due time:
the open time counted and what was skipped (nights, weekends, named holidays, pauses).
`render` turns that into the text `escalation-bot policy simulate` prints. Everything here
is pure: the command loads the policy file, and `parse_*` turn its arguments into values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.policies.durations import Duration, Reminder
from bot.policies.calendars import ALWAYS_OPEN, CalendarSpec
from bot.policies.fields import DAY_NAMES
from bot.policies.policy import Policy
from bot.policies.severities import TARGET_KINDS, Severity, TargetKind
from bot.sla import clocks
from bot.timekeeping.calendars import BusinessCalendar, Calendar, Interval

__all__ = [
    "Closure",
    "ReminderAt",
    "Simulation",
    "SimulationError",
    "Stretch",
    "TargetTimeline",
    "explain",
    "parse_instant",
    "parse_pause",
    "parse_zone",
    "render",
    "simulate",
]

StretchKind = Literal["counted", "closed", "paused"]

# Closed time overlapping these local hours reads as "night" rather than "outside hours".
_NIGHT = (time(0), time(6))
_DAY = timedelta(days=1)


class SimulationError(ValueError):
    """Input a support lead got wrong; the message is one line that says how to fix it."""


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


@dataclass(frozen=True)
class ReminderAt:
    reminder: Reminder
    after: timedelta  # open time counted when it fires
    at: datetime


@dataclass(frozen=True)
class TargetTimeline:
    kind: TargetKind
    written: Duration  # as the policy file gives it
    open_time: timedelta  # what it means on the severity's calendar
    due: datetime
    stretches: tuple[Stretch, ...]
    reminders: tuple[ReminderAt, ...]

    @property
    def breach(self) -> datetime:
        """The bot's breach timer fires at the due instant itself."""
        return self.due


@dataclass(frozen=True)
class Simulation:
    policy: Policy
    severity: Severity
    calendar: Calendar
    opened: datetime
    pauses: tuple[Interval, ...]
    # When each step of the severity's escalation chain would page, and whom, if nobody
    # acknowledged: (instant, what it pages).
    pages: tuple[tuple[datetime, str], ...]
    targets: tuple[TargetTimeline, ...]


# --- parsing what people type --------------------------------------------------------------


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


# --- the simulation ------------------------------------------------------------------------


def simulate(
    policy: Policy, severity: str, opened: datetime, pauses: Sequence[Interval] = ()
) -> Simulation:
    """Every target of `severity` for a case opened at `opened`, each clock started then."""
    found = policy.severity(severity)
    if found is None:
        raise SimulationError(
            f"policy '{policy.id}' has no severity '{severity}': use one of "
            + ", ".join(_severity_names(s) for s in policy.ordered_severities)
        )
    if opened.tzinfo is None or opened.utcoffset() is None:
        raise SimulationError("the opening time needs a time zone")
    opened = opened.astimezone(UTC)
    pauses = tuple((a.astimezone(UTC), b.astimezone(UTC)) for a, b in pauses)
    for a, b in pauses:
        if b <= a:
            raise SimulationError(f"pause {a.isoformat()}/{b.isoformat()} ends before it starts")

    calendar = policy.calendar_for(found.id)
    timelines = []
    for kind in TARGET_KINDS:
        if kind == "update_every":
            continue  # its clock starts at each response, not at the opening
        written = getattr(found.targets, kind)
        open_time = policy.target(found.id, kind)
        if written is None or open_time is None:
            continue
        try:
            # The running bot's own arithmetic (bot.sla.clocks), for a clock started at the
            # opening.
            due, instants = clocks.schedule(policy, found.id, kind, opened, pauses)
        except (ValueError, OverflowError) as error:
            # a calendar closed for years, or a due time past the year 9999
            raise SimulationError(f"{kind} target cannot be reached: {error}") from None
        assert due is not None
        offsets = sorted(
            ((r.fires_after(open_time, calendar.day_length), r) for r in found.reminders),
            key=lambda pair: pair[0],
        )
        reminders = [
            ReminderAt(r, after, at) for (after, r), at in zip(offsets, instants, strict=True)
        ]
        timelines.append(
            TargetTimeline(
                kind=kind,
                written=written,
                open_time=open_time,
                due=due,
                stretches=explain(calendar, opened, due, pauses),
                reminders=tuple(reminders),
            )
        )
    return Simulation(
        policy=policy,
        severity=found,
        calendar=calendar,
        opened=opened,
        pauses=pauses,
        pages=_pages(policy, found, opened),
        targets=tuple(timelines),
    )


def _pages(
    policy: Policy, severity: Severity, opened: datetime
) -> tuple[tuple[datetime, str], ...]:
    from bot.oncall import paging

    chain = policy.chain_for(severity.id)
    if chain is None:
        return ()
    out = []
    for at, step, paged in paging.simulate(policy, chain, opened):
        where = "fallback" if step.level == 0 else f"level {step.level}, round {step.round}"
        reached = [
            f"{u} (on call in {paged.on_call_in[u]})" if u in paged.on_call_in else u
            for u in paged.users
        ]
        reached += [f"group {g}" for g in paged.groups]
        reached += [f"channel {c}" for c in paged.channels]
        reached += ["a webhook"] * len(paged.webhooks)
        text = f"chain {chain} {where}: {', '.join(reached) or 'nobody'}"
        if paged.nobody_on_call:
            text += f" (nobody on call in {', '.join(paged.nobody_on_call)})"
        out.append((at, text))
    return tuple(out)


def _severity_names(severity: Severity) -> str:
    return f"{severity.id} ({', '.join(severity.aliases)})" if severity.aliases else severity.id


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


# --- the text a support lead reads ---------------------------------------------------------

_LABEL = 12
_KIND_TEXT = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}
_BREACH_TEXT = {
    "first_response": "if no responder has answered by then",
    "next_response": "if no responder has posted an update by then",
    "resolution": "if the case is not resolved by then",
}

Row = tuple[str, str, str]


def render(simulation: Simulation, tz: tzinfo | None = None) -> list[str]:
    """The simulation as aligned lines; times in `tz` (default: the calendar's zone) and UTC."""
    sim = simulation
    if tz is None:
        tz = sim.calendar.tz if isinstance(sim.calendar, BusinessCalendar) else UTC
    header = (
        f"{'Policy':<{_LABEL}}{sim.policy.id} · {sim.severity.name} · calendar "
        f"{_describe_calendar(sim.policy, sim.severity.calendar)}"
    )
    rows: list[Row | None] = [("Opened", _instant(sim.opened, tz), "")]
    for at, paged in sim.pages:
        rows.append(("Page", _instant(at, tz), f"{paged}, if nobody has acknowledged"))
    for a, b in sim.pauses:
        rows.append(("Paused", _span(a, b, tz), "waiting on the requester"))
    if not sim.targets:
        rows.append(("Target", "none", "this severity has no response or resolution target"))
    for target in sim.targets:
        rows.append(None)
        rows += _target_rows(sim, target, tz)

    width = max((len(row[1]) for row in rows if row is not None and row[2]), default=0)
    lines = [header]
    for row in rows:
        if row is None:
            lines.append("")
            continue
        label, when, detail = row
        lines.append(f"{label:<{_LABEL}}{when:<{width}}  {detail}".rstrip())
    return lines


def _target_rows(sim: Simulation, target: TargetTimeline, tz: tzinfo) -> list[Row]:
    what = f"{_KIND_TEXT[target.kind]} {_target_size(sim, target)}"
    if target.kind != "first_response":
        what += ", if its clock started at the opening"
    rows: list[Row] = [("Target", what, "")]
    for stretch in target.stretches:
        notes = [f"clocks change {stretch.clock_change}"] if stretch.clock_change else []
        if stretch.kind == "counted":
            detail = f"{_duration(stretch.counted):<7}(total {_duration(stretch.total)})"
            rows.append(("Counted", _span(stretch.start, stretch.end, tz), _join(detail, notes)))
        elif stretch.kind == "paused":
            detail = "paused, waiting on the requester"
            rows.append(("Skipped", _span(stretch.start, stretch.end, tz), _join(detail, notes)))
        else:
            reasons = "; ".join(_closure_text(c) for c in stretch.closures)
            detail = f"closed ({reasons})" if reasons else "closed"
            rows.append(("Skipped", _span(stretch.start, stretch.end, tz), _join(detail, notes)))
    for reminder in target.reminders:
        if reminder.reminder.percent is not None:
            why = f"{reminder.reminder.percent:g}% of the target"
        else:
            why = f"{reminder.reminder.before} before due"
        rows.append(
            ("Reminder", _instant(reminder.at, tz), f"{why}, {_duration(reminder.after)} counted")
        )
    rows.append(("Due", _instant(target.due, tz), ""))
    rows.append(("Breach", _instant(target.breach, tz), _BREACH_TEXT[target.kind]))
    return rows


def _join(detail: str, notes: list[str]) -> str:
    return "; ".join([detail, *notes])


def _target_size(sim: Simulation, target: TargetTimeline) -> str:
    if sim.severity.calendar == ALWAYS_OPEN:
        return f"{target.written} around the clock"
    size = f"{target.written} of business time"
    if not target.written.days:
        return size
    if target.open_time != sim.calendar.day_length:
        size += f" = {_duration(target.open_time)}"
    return f"{size} (1d = {_duration(sim.calendar.day_length)})"


def _closure_text(closure: Closure) -> str:
    if closure.day is None:
        return closure.label
    return f"{closure.label} on {closure.day:%a} {closure.day.day} {closure.day:%b}"


def _describe_calendar(policy: Policy, name: str) -> str:
    if name == ALWAYS_OPEN:
        return f"{ALWAYS_OPEN} (always open)"
    spec: CalendarSpec = policy.calendars[name]
    parts = [spec.timezone]
    parts += [
        f"{_days(w.days)} {w.from_:%H:%M}-{'24:00' if w.to == time(0) else f'{w.to:%H:%M}'}"
        for w in spec.windows
    ]
    if spec.holidays is not None:
        region = spec.holidays.country
        if spec.holidays.subdivision:
            region += f"-{spec.holidays.subdivision}"
        parts.append(f"{region} holidays closed")
    if spec.closed:
        parts.append(f"{len(spec.closed)} more closed dates")
    return f"{name} ({', '.join(parts)})"


def _days(days: tuple[str, ...]) -> str:
    """('mon', ..., 'fri') -> 'Mon-Fri'; gaps are listed: 'Mon, Wed-Fri'."""
    indexes = [DAY_NAMES.index(d) for d in days]
    runs: list[list[int]] = []
    for i in indexes:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    names = [
        DAY_NAMES[r[0]].title() + (f"-{DAY_NAMES[r[-1]].title()}" if len(r) > 1 else "")
        for r in runs
    ]
    return ", ".join(names)


def _duration(value: timedelta) -> str:
    """Open time in hours and minutes (days would be ambiguous next to business days)."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0m"


def _clock(t: datetime) -> str:
    return f"{t:%H:%M:%S}" if t.second else f"{t:%H:%M}"


def _date(t: datetime) -> str:
    return f"{t:%a} {t.day} {t:%b}"


def _is_utc(t: datetime) -> bool:
    return t.utcoffset() == timedelta(0) and t.tzname() == "UTC"


def _instant(t: datetime, tz: tzinfo) -> str:
    """`Mon 23 Nov 2026 07:00 CET (06:00 UTC)`; the UTC date only when it differs."""
    local = t.astimezone(tz)
    text = f"{_date(local)} {local.year} {_clock(local)} {local.tzname()}"
    if _is_utc(local):
        return text
    if local.utcoffset() == timedelta(0):
        return f"{text} (= UTC)"
    utc = t.astimezone(UTC)
    day = f"{_date(utc)} " if utc.date() != local.date() else ""
    return f"{text} ({day}{_clock(utc)} UTC)"


def _span(start: datetime, end: datetime, tz: tzinfo) -> str:
    """`Fri 23 Oct 17:00 -> 18:00 CEST (15:00 -> 16:00 UTC)`, dates only where they change."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    text = _span_in(a, b)
    if _is_utc(a) and _is_utc(b):
        return text
    if a.utcoffset() == timedelta(0) and b.utcoffset() == timedelta(0):
        return f"{text} (= UTC)"
    ua, ub = start.astimezone(UTC), end.astimezone(UTC)
    first = f"{_date(ua)} " if ua.date() != a.date() else ""
    second = f"{_date(ub)} " if ub.date() != ua.date() else ""
    return f"{text} ({first}{_clock(ua)} -> {second}{_clock(ub)} UTC)"


def _span_in(a: datetime, b: datetime) -> str:
    second = _clock(b) if b.date() == a.date() else f"{_date(b)} {_clock(b)}"
    if a.tzname() == b.tzname():
        return f"{_date(a)} {_clock(a)} -> {second} {b.tzname()}"
    return f"{_date(a)} {_clock(a)} {a.tzname()} -> {second} {b.tzname()}"
