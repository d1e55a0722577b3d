"""Property tests: the calendar engine against a minute-by-minute brute-force oracle.

The oracle knows nothing of the engine's precomputation. For every UTC minute it converts the
instant to local wall-clock time and asks the definition directly: is the wall time inside a
window that starts on this local date or the previous one, and is that start date not closed?
All window times, UTC offsets of the zones used and DST transitions are whole minutes, so a
minute is open throughout iff its first instant is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timekeeping.calendars import BusinessCalendar, WeeklyWindow

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
    "UTC",
    "America/Santiago",  # changes at local midnight
    "Pacific/Chatham",  # +12:45 / +13:45
]
FIRST_YEAR, LAST_YEAR = 2024, 2027
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# How far the oracle scans ahead for add(); a due time beyond it is only checked to lie beyond.
HORIZON_MINUTES = 6 * 24 * 60

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _transitions(zone: str) -> list[datetime]:
    """UTC noons just before each change of UTC offset in the test years."""
    tz = ZoneInfo(zone)
    noon = datetime(FIRST_YEAR, 1, 1, 12, tzinfo=UTC)
    end = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
    out = []
    offset = noon.astimezone(tz).utcoffset()
    while noon < end:
        following = (noon + DAY).astimezone(tz).utcoffset()
        if following != offset:
            out.append(noon)
        offset = following
        noon += DAY
    return out


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}


@dataclass(frozen=True)
class Case:
    zone: str
    windows: tuple[WeeklyWindow, ...]
    closed: frozenset[date]
    start: datetime
    pauses: tuple[tuple[datetime, datetime], ...]

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar("prop", self.zone, self.windows, closed=self.closed)


class Oracle:
    def __init__(self, case: Case) -> None:
        self.tz = ZoneInfo(case.zone)
        self.windows = case.windows
        self.closed = case.closed
        self.pauses = case.pauses

    def is_open(self, t: datetime) -> bool:
        wall = t.astimezone(self.tz).replace(tzinfo=None)
        for day in (wall.date(), wall.date() - DAY):
            if day in self.closed:
                continue
            for w in self.windows:
                if w.weekday != day.weekday():
                    continue
                window_start = datetime.combine(day, w.start)
                length = datetime.combine(day, w.end) - window_start
                if length <= timedelta(0):
                    length += DAY
                if window_start <= wall < window_start + length:
                    return True
        return False

    def counts(self, t: datetime) -> bool:
        """Open and not paused."""
        return self.is_open(t) and not any(a <= t < b for a, b in self.pauses)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        t = start
        while t < end:
            if self.counts(t):
                total += MINUTE
            t += MINUTE
        return total

    def add(self, start: datetime, minutes: int) -> datetime | None:
        """The due minute boundary, or None if it lies beyond the horizon."""
        counted = 0
        t = start
        for _ in range(HORIZON_MINUTES):
            if self.counts(t):
                if minutes == 0:
                    return t
                counted += 1
                if counted == minutes:
                    return t + MINUTE
            t += MINUTE
        return None

    def open_runs(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        runs: list[tuple[datetime, datetime]] = []
        t = start
        while t < end:
            if self.is_open(t):
                if runs and runs[-1][1] == t:
                    runs[-1] = (runs[-1][0], t + MINUTE)
                else:
                    runs.append((t, t + MINUTE))
            t += MINUTE
        return runs


minutes_of_day = st.one_of(
    st.integers(0, 23).map(lambda h: h * 60),
    st.integers(0, 24 * 60 - 1),
)


def _time(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


@st.composite
def windows(draw: st.DrawFn) -> WeeklyWindow:
    start = draw(minutes_of_day)
    end = draw(
        st.one_of(
            minutes_of_day,
            st.just(start),  # a full 24 hours
            st.integers(1, 12 * 60).map(lambda n: (start + n) % (24 * 60)),
        )
    )
    return WeeklyWindow(draw(st.integers(0, 6)), _time(start), _time(end))


@st.composite
def starts(draw: st.DrawFn, zone: str) -> datetime:
    transitions = TRANSITIONS[zone]
    if transitions and draw(st.booleans()):
        noon = draw(st.sampled_from(transitions))
        return noon + draw(st.integers(-24 * 60, 2 * 24 * 60)) * MINUTE
    first = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    span = (datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - first) // MINUTE
    return first + draw(st.integers(0, span - 1)) * MINUTE


@st.composite
def cases(draw: st.DrawFn, with_pauses: bool = True) -> Case:
    zone = draw(st.sampled_from(ZONES))
    start = draw(starts(zone))
    local_day = start.astimezone(ZoneInfo(zone)).date()
    closed = frozenset(local_day + k * DAY for k in draw(st.sets(st.integers(-2, 8), max_size=4)))
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    if with_pauses:
        pauses = tuple(
            (start + offset * MINUTE, start + (offset + length) * MINUTE)
            for offset, length in draw(
                st.lists(
                    st.tuples(st.integers(-600, 5 * 24 * 60), st.integers(1, 2 * 24 * 60)),
                    max_size=3,
                )
            )
        )
    return Case(
        zone=zone,
        windows=tuple(draw(st.lists(windows(), min_size=1, max_size=4))),
        closed=closed,
        start=start,
        pauses=pauses,
    )


durations = st.one_of(st.integers(0, 8 * 60), st.integers(0, 3 * 24 * 60))


@SETTINGS
@given(case=cases(), minutes=durations)
def test_add_matches_oracle(case: Case, minutes: int) -> None:
    due = case.calendar().add(case.start, minutes * MINUTE, case.pauses)
    expected = Oracle(case).add(case.start, minutes)
    if expected is None:
        assert due > case.start + HORIZON_MINUTES * MINUTE
    else:
        assert due == expected


@SETTINGS
@given(case=cases(), minutes=st.integers(0, 4 * 24 * 60))
def test_elapsed_matches_oracle(case: Case, minutes: int) -> None:
    end = case.start + minutes * MINUTE
    cal = case.calendar()
    expected = Oracle(case).elapsed(case.start, end)
    assert cal.elapsed(case.start, end, case.pauses) == expected
    assert cal.remaining(case.start, end, case.pauses) == expected
    assert cal.remaining(end, case.start, case.pauses) == -expected


@SETTINGS
@given(case=cases(with_pauses=False), minutes=st.integers(0, 3 * 24 * 60))
def test_open_intervals_match_oracle(case: Case, minutes: int) -> None:
    end = case.start + minutes * MINUTE
    cal = case.calendar()
    oracle = Oracle(case)
    assert list(cal.open_intervals(case.start, end)) == oracle.open_runs(case.start, end)
    assert cal.is_open(case.start) == oracle.is_open(case.start)
    if not cal.is_open(case.start):
        opening = cal.next_opening(case.start)
        assert oracle.is_open(opening)
        assert not oracle.is_open(opening - MINUTE)
        assert cal.elapsed(case.start, opening) == timedelta(0)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    case=cases(),
    duration=st.integers(0, 5 * 24 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)
def test_add_elapsed_round_trip(case: Case, duration: timedelta) -> None:
    cal = case.calendar()
    due = cal.add(case.start, duration, case.pauses)
    assert cal.elapsed(case.start, due, case.pauses) == duration
    if duration:
        # `due` is the first instant at which `duration` has been counted.
        tick = timedelta(microseconds=1)
        assert cal.elapsed(case.start, due - tick, case.pauses) == duration - tick
