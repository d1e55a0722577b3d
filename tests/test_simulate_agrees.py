"""`policy simulate` and the running bot's clocks agree with an oracle that shares none of
their arithmetic: on random histories (opening, severity changes, waits on the requester,
resumes, requester messages), the first-response due time and reminders the bot computes,
and the due time `simulate` shows for the case's final severity opened at the same instant
with the same pauses, are where a minute-by-minute walk of the calendar's definition puts
them (its windows read as local wall time in its zone, its closed dates, the pauses)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policies import load_policies
from bot.simulation.timeline import simulate
from bot.sla.clocks import ClockEvent, deadlines
from bot.timekeeping.calendars import AlwaysOpen, BusinessCalendar, Calendar

SHIPPED = Path(__file__).resolve().parent.parent / "policies"
POLICIES = sorted(load_policies(SHIPPED), key=lambda p: p.id)

MINUTE = timedelta(minutes=1)


def open_at(calendar: Calendar, t: datetime) -> bool:
    """Whether the calendar's definition has it open at `t`: some weekly window that started
    on a local date that is not closed covers `t`'s local wall time."""
    if isinstance(calendar, AlwaysOpen):
        return True
    assert isinstance(calendar, BusinessCalendar)
    wall = t.astimezone(calendar.tz).replace(tzinfo=None)
    today = wall.date()
    return any(
        start <= wall < end
        for day in (today, today - timedelta(days=1))
        for start, end in windows_starting(calendar, day)
    )


@functools.cache
def windows_starting(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The local wall-time spans of the windows that start on `day`: none on a closed date;
    a window whose end is not after its start ends the next day."""
    if day in calendar.closed:
        return []
    spans = []
    for w in calendar.windows:
        if w.weekday == day.weekday():
            start, end = datetime.combine(day, w.start), datetime.combine(day, w.end)
            spans.append((start, end if end > start else end + timedelta(days=1)))
    return spans


def walk(
    calendar: Calendar,
    start: datetime,
    offsets: Sequence[timedelta],
    pauses: Sequence[tuple[datetime, datetime]],
) -> list[datetime]:
    """The instant each offset of open, unpaused time after `start` is reached, stepping one
    minute at a time (every boundary here falls on a whole minute) and over each pause."""
    found: list[datetime] = []
    counted = timedelta(0)
    t = start
    for offset in sorted(offsets):
        while True:
            if t > start + timedelta(days=400):
                raise AssertionError(f"no {offset} of open time within 400 days of {start}")
            paused = next((b for a, b in pauses if a <= t < b), None)
            if paused is not None:
                t = paused  # no minute of a pause counts
                continue
            if open_at(calendar, t):
                if offset - counted <= MINUTE:
                    found.append(t + (offset - counted))
                    break
                counted += MINUTE
            t += MINUTE
    return found


steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3 * 24 * 60),  # minutes after the previous event
        st.sampled_from(
            ["severity_changed", "waiting_on_requester", "resumed", "requester_message"]
        ),
        st.integers(min_value=0, max_value=10),  # which severity, for a change
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(
    policy_index=st.integers(min_value=0, max_value=len(POLICIES) - 1),
    opened_minutes=st.integers(min_value=0, max_value=365 * 24 * 60),
    first=st.integers(min_value=0, max_value=10),
    history=steps,
    tail=st.integers(min_value=0, max_value=24 * 60),
)
def test_simulate_and_the_running_clocks_agree(
    policy_index: int, opened_minutes: int, first: int, history: list, tail: int
) -> None:
    policy = POLICIES[policy_index]
    levels = [s.id for s in policy.ordered_severities]
    opened = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=opened_minutes)
    severity = levels[first % len(levels)]
    events = [ClockEvent(opened, "opened", severity)]
    pauses: list[tuple[datetime, datetime]] = []
    paused_since: datetime | None = None
    at = opened
    for minutes, kind, which in history:
        at += timedelta(minutes=minutes)
        if kind == "severity_changed":
            severity = levels[which % len(levels)]
            events.append(ClockEvent(at, kind, severity))
            continue
        events.append(ClockEvent(at, kind))
        if kind == "waiting_on_requester" and paused_since is None:
            paused_since = at
        elif kind != "waiting_on_requester" and paused_since is not None:
            pauses.append((paused_since, at))
            paused_since = None
    now = at + timedelta(minutes=tail)
    if paused_since is not None and now > paused_since:
        pauses.append((paused_since, now))

    [first_response] = [d for d in deadlines(policy, events, now) if d.kind == "first_response"]
    shown = simulate(policy, severity, opened, pauses)
    simulated = {t.kind: t.due for t in shown.targets}.get("first_response")
    target = policy.target(severity, "first_response")
    if target is None:
        assert (first_response.due_at, simulated) == (None, None)
        return
    calendar = policy.calendar_for(severity)
    # The bot's clock knows pauses only up to `now`; the oracle gets the same ones.
    offsets = policy.reminder_offsets(severity, "first_response")
    *reminders, due = walk(calendar, opened, [*offsets, target], pauses)
    assert first_response.due_at == due
    assert simulated == due
    assert first_response.reminders == tuple(reminders)
