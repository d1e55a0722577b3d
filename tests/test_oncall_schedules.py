"""Who is on call: rotations across both daylight-saving changes, layers active only at
night, overrides; the people expected at each instant are written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.timekeeping.rotations import Layer, Override, Schedule, Window

BERLIN = ZoneInfo("Europe/Berlin")
WEEK, DAY = timedelta(weeks=1), timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args)


# The example: a weekly rotation, a weeknight layer, a Christmas override.
PLATFORM = Schedule(
    "platform",
    BERLIN,
    layers=(
        Layer(("U0AAAAAA1", "U0AAAAAA2", "U0AAAAAA3"), WEEK, local(2026, 11, 2, 9, 0)),
        Layer(
            ("U0BBBBBB1", "U0BBBBBB2"),
            DAY,
            local(2026, 11, 2, 18, 0),
            only=Window(frozenset(range(5)), time(18, 0), time(9, 0)),
        ),
    ),
    overrides=(Override("U0CCCCCC1", local(2026, 12, 24, 18, 0), local(2026, 12, 27, 9, 0)),),
)


def test_layers_and_the_weeknight_window() -> None:
    expected = {
        utc(2026, 11, 2, 7, 59): None,  # 08:59 CET: before the first handoff
        utc(2026, 11, 2, 8, 0): "U0AAAAAA1",  # Monday 09:00 CET
        utc(2026, 11, 2, 16, 59): "U0AAAAAA1",
        utc(2026, 11, 2, 17, 0): "U0BBBBBB1",  # Monday 18:00 CET: the night layer wins
        utc(2026, 11, 3, 7, 59): "U0BBBBBB1",  # Tuesday 08:59 CET, same night
        utc(2026, 11, 3, 8, 0): "U0AAAAAA1",  # Tuesday 09:00 CET: the night is over
        utc(2026, 11, 3, 17, 0): "U0BBBBBB2",  # Tuesday night: the next in the rotation
        utc(2026, 11, 7, 7, 59): "U0BBBBBB1",  # Friday night runs into Saturday 08:59
        utc(2026, 11, 7, 11, 0): "U0AAAAAA1",  # Saturday noon: no night layer at weekends
        utc(2026, 11, 8, 22, 0): "U0AAAAAA1",  # Sunday night is not listed
        utc(2026, 11, 9, 8, 0): "U0AAAAAA2",  # a week later, the next person
        utc(2026, 11, 16, 8, 0): "U0AAAAAA3",
        utc(2026, 11, 23, 8, 0): "U0AAAAAA1",  # round again
    }
    assert {t: PLATFORM.on_call(t) for t in expected} == expected


def test_an_override_wins_over_every_layer() -> None:
    # Week of 21 December is the rotation's eighth (index 7): U0AAAAAA2.
    assert PLATFORM.on_call(utc(2026, 12, 24, 16, 59)) == "U0AAAAAA2"  # Thursday 17:59 CET
    assert PLATFORM.on_call(utc(2026, 12, 24, 17, 0)) == "U0CCCCCC1"  # 18:00 CET
    assert PLATFORM.on_call(utc(2026, 12, 25, 23, 0)) == "U0CCCCCC1"
    assert PLATFORM.on_call(utc(2026, 12, 27, 7, 59)) == "U0CCCCCC1"  # Sunday 08:59 CET
    assert PLATFORM.on_call(utc(2026, 12, 27, 8, 0)) == "U0AAAAAA2"  # Sunday 09:00 CET


def test_weekly_handoffs_stay_at_local_time_across_both_clock_changes() -> None:
    spring = Schedule("s", BERLIN, (Layer(("X", "Y"), WEEK, local(2026, 3, 23, 9, 0)),))
    # Monday 23 March 09:00 CET is 08:00 UTC; after the change on 29 March, Monday 30 March
    # 09:00 CEST is 07:00 UTC: the week in between was 167 hours.
    assert spring.on_call(utc(2026, 3, 23, 8, 0)) == "X"
    assert spring.on_call(utc(2026, 3, 30, 6, 59)) == "X"
    assert spring.on_call(utc(2026, 3, 30, 7, 0)) == "Y"
    autumn = Schedule("a", BERLIN, (Layer(("X", "Y"), WEEK, local(2026, 10, 19, 9, 0)),))
    # Monday 19 October 09:00 CEST is 07:00 UTC; Monday 26 October 09:00 CET is 08:00 UTC.
    assert autumn.on_call(utc(2026, 10, 26, 7, 59)) == "X"
    assert autumn.on_call(utc(2026, 10, 26, 8, 0)) == "Y"
    assert autumn.next_handoff(utc(2026, 10, 20, 12, 0)) == (utc(2026, 10, 26, 8, 0), "Y")


def test_a_daily_rotation_over_the_short_and_the_long_night() -> None:
    daily = Schedule("d", BERLIN, (Layer(("X", "Y", "Z"), DAY, local(2026, 3, 28, 9, 0)),))
    assert daily.shifts(utc(2026, 3, 28, 8, 0), utc(2026, 3, 30, 7, 0)) == [
        (utc(2026, 3, 28, 8, 0), utc(2026, 3, 29, 7, 0), "X"),  # 23 hours: spring forward
        (utc(2026, 3, 29, 7, 0), utc(2026, 3, 30, 7, 0), "Y"),
    ]
    night = Schedule("n", BERLIN, (Layer(("X", "Y"), DAY, local(2026, 10, 24, 9, 0)),))
    assert night.shifts(utc(2026, 10, 24, 7, 0), utc(2026, 10, 25, 8, 0)) == [
        (utc(2026, 10, 24, 7, 0), utc(2026, 10, 25, 8, 0), "X"),  # 25 hours: fall back
    ]
    assert night.on_call(utc(2026, 10, 25, 8, 0)) == "Y"


def test_shifts_list_who_is_on_call_with_the_handoffs() -> None:
    assert PLATFORM.shifts(utc(2026, 11, 2, 8, 0), utc(2026, 11, 3, 10, 0)) == [
        (utc(2026, 11, 2, 8, 0), utc(2026, 11, 2, 17, 0), "U0AAAAAA1"),
        (utc(2026, 11, 2, 17, 0), utc(2026, 11, 3, 8, 0), "U0BBBBBB1"),
        (utc(2026, 11, 3, 8, 0), utc(2026, 11, 3, 10, 0), "U0AAAAAA1"),
    ]


@settings(max_examples=200, deadline=None)
@given(
    people=st.integers(min_value=1, max_value=5),
    shift_minutes=st.integers(min_value=30, max_value=14 * 24 * 60),
    start_minutes=st.integers(min_value=0, max_value=365 * 24 * 60),
    at_minutes=st.integers(min_value=0, max_value=365 * 24 * 60),
    span_minutes=st.integers(min_value=1, max_value=21 * 24 * 60),
)
def test_a_single_layer_has_exactly_one_person_on_call_at_every_instant(
    people: int, shift_minutes: int, start_minutes: int, at_minutes: int, span_minutes: int
) -> None:
    start = local(2026, 1, 1) + timedelta(minutes=start_minutes)
    rotation = tuple(f"U{i}" for i in range(people))
    schedule = Schedule("p", BERLIN, (Layer(rotation, timedelta(minutes=shift_minutes), start),))
    begin = schedule.instant(start) + timedelta(minutes=at_minutes)
    end = begin + timedelta(minutes=span_minutes)
    spans = schedule.shifts(begin, end)
    # The spans cover the window end to end, with nobody missing and no overlap.
    assert spans[0][0] == begin and spans[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    for a, b, who in spans:
        assert who in rotation
        assert schedule.on_call(a) == who
        assert schedule.on_call(b - timedelta(microseconds=1)) == who


# A daily rotation handing over at 02:30 Berlin time: on 28 March 2027 that time does not
# exist (02:00 -> 03:00, at 01:00 UTC); on 31 October 2027 it happens twice (at 00:30 UTC,
# then again at 01:30 UTC after 03:00 -> 02:00).
NIGHTLY = Schedule(
    "nightly", BERLIN, layers=(Layer(("U0NIGHTAA1", "U0NIGHTBB2"), DAY, local(2027, 3, 1, 2, 30)),)
)


def test_a_handoff_at_a_time_the_spring_change_skips_happens_right_after_the_gap() -> None:
    # 27 March 02:30 (01:30 UTC) is turn 26 (A); the skipped 28 March 02:30 is turn 27 (B),
    # taken over at the moment after the gap, 03:00 local = 01:00 UTC.
    assert NIGHTLY.instant(local(2027, 3, 28, 2, 30)) == utc(2027, 3, 28, 1, 0)
    assert NIGHTLY.on_call(utc(2027, 3, 28, 0, 59)) == "U0NIGHTAA1"
    assert NIGHTLY.on_call(utc(2027, 3, 28, 1, 0)) == "U0NIGHTBB2"
    spans = NIGHTLY.shifts(utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 12, 0))
    assert [(a, who) for a, _, who in spans] == [
        (utc(2027, 3, 27, 12, 0), "U0NIGHTAA1"),
        (utc(2027, 3, 28, 1, 0), "U0NIGHTBB2"),
    ]
    assert NIGHTLY.next_handoff(utc(2027, 3, 27, 12, 0)) == (utc(2027, 3, 28, 1, 0), "U0NIGHTBB2")


def test_in_the_repeated_autumn_hour_the_handoff_happens_once_at_the_first_occurrence() -> None:
    # 31 October 02:30 is turn 244 (A): at its first occurrence, 00:30 UTC.
    assert NIGHTLY.on_call(utc(2027, 10, 31, 0, 29)) == "U0NIGHTBB2"
    assert NIGHTLY.on_call(utc(2027, 10, 31, 0, 30)) == "U0NIGHTAA1"
    # 01:20 UTC is 02:20 again, in the repeated hour: the handoff has happened already.
    assert NIGHTLY.on_call(utc(2027, 10, 31, 1, 20)) == "U0NIGHTAA1"
    assert NIGHTLY.on_call(utc(2027, 10, 31, 1, 40)) == "U0NIGHTAA1"
    spans = NIGHTLY.shifts(utc(2027, 10, 30, 12, 0), utc(2027, 10, 31, 12, 0))
    assert [(a, who) for a, _, who in spans] == [
        (utc(2027, 10, 30, 12, 0), "U0NIGHTBB2"),
        (utc(2027, 10, 31, 0, 30), "U0NIGHTAA1"),
    ]


def test_an_override_starting_at_a_skipped_time_starts_right_after_the_gap() -> None:
    covered = Schedule(
        "nightly",
        BERLIN,
        layers=NIGHTLY.layers,
        overrides=(Override("U0COVER001", local(2027, 3, 28, 2, 30), local(2027, 3, 28, 9, 0)),),
    )
    assert covered.instant(local(2027, 3, 28, 2, 30)) == utc(2027, 3, 28, 1, 0)
    assert covered.on_call(utc(2027, 3, 28, 0, 59)) == "U0NIGHTAA1"
    assert covered.on_call(utc(2027, 3, 28, 1, 0)) == "U0COVER001"


ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "Australia/Sydney")]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    days=st.integers(1, 3),
    people=st.integers(1, 4),
    offset=st.integers(0, 400 * 24 * 4),
)
def test_shifts_and_on_call_agree_across_clock_changes(
    zone: ZoneInfo, hour: int, minute: int, days: int, people: int, offset: int
) -> None:
    rotation = tuple(f"U0PERSON{i:02d}" for i in range(people))
    schedule = Schedule(
        "p", zone, layers=(Layer(rotation, timedelta(days=days), local(2026, 1, 1, hour, minute)),)
    )
    start = utc(2026, 2, 1) + timedelta(minutes=15 * offset)
    end = start + timedelta(days=4)
    spans = schedule.shifts(start, end)
    for a, b, who in spans:
        for probe in (a, a + (b - a) / 2, b - timedelta(seconds=1)):
            assert schedule.on_call(probe) == who, (probe, a, b)
    # Each handoff is one change of hands, in order, never back and forth within an hour.
    for (_, b1, w1), (a2, _, w2) in pairwise(spans):
        assert b1 == a2 and w1 != w2
