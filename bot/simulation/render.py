"""A dry run as the text `escalation-bot policy simulate` prints: aligned rows, each time in
the calendar's zone (or the one asked for) and in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from bot.policies.calendars import ALWAYS_OPEN, CalendarSpec
from bot.policies.fields import DAY_NAMES
from bot.policies.policy import Policy
from bot.simulation.stretches import Closure
from bot.simulation.timeline import Simulation, TargetTimeline
from bot.timekeeping.calendars import BusinessCalendar

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
