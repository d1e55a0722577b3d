"""Hand-computed examples for bot.timekeeping.calendars. Every expected value is in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from bot.timekeeping.calendars import AlwaysOpen, BusinessCalendar, Calendar, WeeklyWindow

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def weekdays(start: time, end: time, days: range = range(5)) -> list[WeeklyWindow]:
    return [WeeklyWindow(d, start, end) for d in days]


@pytest.fixture(scope="module")
def berlin() -> BusinessCalendar:
    """Mon-Fri 09:00-18:00 Berlin with German public holidays (CET = UTC+1, CEST = UTC+2)."""
    return BusinessCalendar(
        "Berlin", "Europe/Berlin", weekdays(time(9), time(18)), holidays.country_holidays("DE")
    )


@pytest.fixture(scope="module")
def night() -> BusinessCalendar:
    """Mon-Fri 05:00-01:00 UTC: each window ends at 01:00 the next day."""
    return BusinessCalendar("night", "UTC", weekdays(time(5), time(1)))


# -- rolling over evenings, weekends and holidays ----------------------------------------------


def test_friday_evening_start_rolls_to_monday(berlin: BusinessCalendar) -> None:
    # Fri 2025-01-10 17:00 CET: 1h left on Friday, 3h more from Mon 09:00 CET (08:00 UTC).
    assert berlin.add(utc(2025, 1, 10, 16), 4 * H) == utc(2025, 1, 13, 11)


def test_start_after_close_counts_from_next_opening(berlin: BusinessCalendar) -> None:
    # Fri 2025-01-10 19:00 CET -> Mon 09:00 CET + 2h.
    assert berlin.add(utc(2025, 1, 10, 18), 2 * H) == utc(2025, 1, 13, 10)
    assert berlin.next_opening(utc(2025, 1, 10, 18)) == utc(2025, 1, 13, 8)


def test_easter_holidays_are_skipped(berlin: BusinessCalendar) -> None:
    # Thu 2025-04-17 17:00 CEST: 1h on Thursday; Good Friday (18th) and Easter Monday (21st)
    # are closed, so the remaining 5h start Tue 22nd 09:00 CEST (07:00 UTC).
    assert berlin.add(utc(2025, 4, 17, 15), 6 * H) == utc(2025, 4, 22, 12)
    assert berlin.elapsed(utc(2025, 4, 17, 15), utc(2025, 4, 22, 12)) == 6 * H
    assert not berlin.is_open(utc(2025, 4, 18, 10))


def test_german_unity_day_is_skipped(berlin: BusinessCalendar) -> None:
    # Thu 2025-10-02 17:00 CEST, 1h on Thursday; Fri 3 October is closed; Mon 6th 09:00 CEST + 2h.
    assert berlin.add(utc(2025, 10, 2, 15), 3 * H) == utc(2025, 10, 6, 9)


def test_closed_dates_may_be_a_plain_set() -> None:
    cal = BusinessCalendar(
        "UTC office", "UTC", weekdays(time(9), time(17)), closed={date(2025, 1, 13)}
    )
    # Fri 2025-01-10 16:00 + 2h: 1h Friday, Monday closed, Tuesday 09:00 + 1h.
    assert cal.add(utc(2025, 1, 10, 16), 2 * H) == utc(2025, 1, 14, 10)


def test_business_hours_across_spring_forward(berlin: BusinessCalendar) -> None:
    # Fri 2025-03-28 17:00 CET (16:00 UTC); Monday 31st is in CEST, so 09:00 local = 07:00 UTC.
    assert berlin.add(utc(2025, 3, 28, 16), 2 * H) == utc(2025, 3, 31, 8)


def test_input_time_zone_does_not_matter_and_output_is_utc(berlin: BusinessCalendar) -> None:
    local_start = datetime(2025, 1, 10, 17, tzinfo=BERLIN)
    due = berlin.add(local_start, 4 * H)
    assert due == utc(2025, 1, 13, 11)
    assert due.tzinfo is UTC
    assert berlin.next_opening(local_start).tzinfo is UTC


def test_zero_duration_is_next_opening_or_start(berlin: BusinessCalendar) -> None:
    assert berlin.add(utc(2025, 1, 11, 12), timedelta(0)) == utc(2025, 1, 13, 8)
    assert berlin.add(utc(2025, 1, 13, 10, 7), timedelta(0)) == utc(2025, 1, 13, 10, 7)
    assert berlin.next_opening(utc(2025, 1, 13, 10, 7)) == utc(2025, 1, 13, 10, 7)


def test_due_exactly_at_closing_time(berlin: BusinessCalendar) -> None:
    # 09:00-18:00 CET is exactly 9h: the due time is the closing instant, not next morning.
    assert berlin.add(utc(2025, 1, 13, 8), 9 * H) == utc(2025, 1, 13, 17)


# -- DST nights in Europe/Berlin --------------------------------------------------------------


@pytest.fixture(scope="module")
def sunday_night() -> BusinessCalendar:
    return BusinessCalendar("Sunday night", "Europe/Berlin", [WeeklyWindow(6, time(0), time(6))])


def test_spring_forward_night_is_five_hours(sunday_night: BusinessCalendar) -> None:
    # Sun 2025-03-30: 00:00 CET = Sat 23:00 UTC; 06:00 CEST = 04:00 UTC.
    assert list(sunday_night.open_intervals(utc(2025, 3, 29), utc(2025, 3, 31))) == [
        (utc(2025, 3, 29, 23), utc(2025, 3, 30, 4))
    ]
    assert sunday_night.elapsed(utc(2025, 3, 29), utc(2025, 3, 31)) == 5 * H
    assert sunday_night.add(utc(2025, 3, 29, 20), 5 * H) == utc(2025, 3, 30, 4)
    # One more minute spills into the next Sunday, 2025-04-06 00:00 CEST = Sat 22:00 UTC.
    assert sunday_night.add(utc(2025, 3, 29, 20), 5 * H + M) == utc(2025, 4, 5, 22, 1)


def test_fall_back_night_is_seven_hours(sunday_night: BusinessCalendar) -> None:
    # Sun 2025-10-26: 00:00 CEST = Sat 22:00 UTC; 06:00 CET = 05:00 UTC.
    assert list(sunday_night.open_intervals(utc(2025, 10, 25), utc(2025, 10, 27))) == [
        (utc(2025, 10, 25, 22), utc(2025, 10, 26, 5))
    ]
    assert sunday_night.elapsed(utc(2025, 10, 25), utc(2025, 10, 27)) == 7 * H
    assert sunday_night.add(utc(2025, 10, 25, 22), 6 * H + 30 * M) == utc(2025, 10, 26, 4, 30)


def test_ordinary_sunday_night_is_six_hours(sunday_night: BusinessCalendar) -> None:
    assert sunday_night.elapsed(utc(2025, 10, 18), utc(2025, 10, 20)) == 6 * H


def test_repeated_wall_time_is_open_both_times() -> None:
    cal = BusinessCalendar("fold", "Europe/Berlin", [WeeklyWindow(6, time(1), time(2, 30))])
    # 2025-10-26: 01:00-02:30 CEST is 23:00-00:30 UTC, then 02:00-02:30 CET is 01:00-01:30 UTC.
    assert list(cal.open_intervals(utc(2025, 10, 25), utc(2025, 10, 27))) == [
        (utc(2025, 10, 25, 23), utc(2025, 10, 26, 0, 30)),
        (utc(2025, 10, 26, 1), utc(2025, 10, 26, 1, 30)),
    ]
    assert cal.is_open(utc(2025, 10, 26, 0, 15))  # 02:15 CEST
    assert not cal.is_open(utc(2025, 10, 26, 0, 45))  # 02:45 CEST
    assert cal.is_open(utc(2025, 10, 26, 1, 15))  # 02:15 CET
    assert cal.elapsed(utc(2025, 10, 25), utc(2025, 10, 27)) == 2 * H


def test_nonexistent_wall_time_does_not_occur() -> None:
    cal = BusinessCalendar("gap", "Europe/Berlin", [WeeklyWindow(6, time(1), time(2, 30))])
    # 2025-03-30: 02:00-03:00 local never happens; only 01:00-02:00 CET (00:00-01:00 UTC) counts.
    assert list(cal.open_intervals(utc(2025, 3, 29), utc(2025, 3, 31))) == [
        (utc(2025, 3, 30, 0), utc(2025, 3, 30, 1))
    ]
    inside_gap = BusinessCalendar(
        "gap", "Europe/Berlin", [WeeklyWindow(6, time(2, 15), time(2, 45))]
    )
    assert inside_gap.elapsed(utc(2025, 3, 29), utc(2025, 3, 31)) == timedelta(0)
    # The next Sunday it exists again: 02:15 CEST = 00:15 UTC.
    assert inside_gap.next_opening(utc(2025, 3, 29)) == utc(2025, 4, 6, 0, 15)


# -- overnight windows -------------------------------------------------------------------------


def test_start_in_overnight_gap_counts_from_five(night: BusinessCalendar) -> None:
    # Tue 2025-01-07 02:00 is between Monday's window (ends 01:00) and Tuesday's (starts 05:00).
    assert not night.is_open(utc(2025, 1, 7, 2))
    assert night.next_opening(utc(2025, 1, 7, 2)) == utc(2025, 1, 7, 5)
    assert night.add(utc(2025, 1, 7, 2), H) == utc(2025, 1, 7, 6)


def test_friday_night_start_rolls_to_monday(night: BusinessCalendar) -> None:
    # Fri 23:30 -> Sat 01:00 is 1.5h, then Mon 05:00 + 4.5h.
    assert night.add(utc(2025, 1, 10, 23, 30), 6 * H) == utc(2025, 1, 13, 9, 30)


def test_overnight_window_spills_into_next_day(night: BusinessCalendar) -> None:
    assert night.is_open(utc(2025, 1, 7, 0, 30))  # Monday's window
    assert night.is_open(utc(2025, 1, 11, 0, 30))  # Friday's window, on Saturday
    assert not night.is_open(utc(2025, 1, 11, 1))  # end is exclusive
    assert not night.is_open(utc(2025, 1, 6, 0, 30))  # Sunday has no window
    assert night.day_length == 20 * H


def test_closed_date_closes_the_windows_that_start_on_it() -> None:
    fri = BusinessCalendar("night", "UTC", weekdays(time(5), time(1)), closed={date(2025, 1, 10)})
    assert fri.is_open(utc(2025, 1, 10, 0, 30))  # still Thursday's window
    assert not fri.is_open(utc(2025, 1, 10, 12))
    assert not fri.is_open(utc(2025, 1, 11, 0, 30))  # Friday's window is closed as a whole
    sat = BusinessCalendar("night", "UTC", weekdays(time(5), time(1)), closed={date(2025, 1, 11)})
    assert sat.is_open(utc(2025, 1, 11, 0, 30))  # a Saturday holiday does not cut Friday short


# -- pauses ------------------------------------------------------------------------------------


def test_pause_over_a_weekend(berlin: BusinessCalendar) -> None:
    # Start Fri 2025-01-10 16:00 CET, 4h. Paused from Fri 17:00 CET to Mon 10:00 CET:
    # 1h on Friday, then 3h from Mon 10:00 CET (09:00 UTC).
    pause = (utc(2025, 1, 10, 16), utc(2025, 1, 13, 9))
    assert berlin.add(utc(2025, 1, 10, 15), 4 * H) == utc(2025, 1, 13, 10)
    assert berlin.add(utc(2025, 1, 10, 15), 4 * H, [pause]) == utc(2025, 1, 13, 12)
    assert berlin.elapsed(utc(2025, 1, 10, 15), utc(2025, 1, 13, 12), [pause]) == 4 * H
    assert berlin.remaining(utc(2025, 1, 10, 15), utc(2025, 1, 13, 12), [pause]) == 4 * H


def test_overlapping_and_out_of_order_pauses(berlin: BusinessCalendar) -> None:
    pauses = [
        (utc(2025, 1, 11, 0), utc(2025, 1, 13, 9)),
        (utc(2025, 1, 10, 16), utc(2025, 1, 11, 12)),
        (utc(2025, 1, 12, 0), utc(2025, 1, 12, 1)),
    ]
    assert berlin.add(utc(2025, 1, 10, 15), 4 * H, pauses) == utc(2025, 1, 13, 12)


def test_zero_duration_waits_for_the_pause_to_end(berlin: BusinessCalendar) -> None:
    pause = (utc(2025, 1, 13, 8), utc(2025, 1, 13, 9, 30))
    assert berlin.add(utc(2025, 1, 13, 8, 30), timedelta(0), [pause]) == utc(2025, 1, 13, 9, 30)


# -- remaining ---------------------------------------------------------------------------------


def test_remaining_positive_before_due(berlin: BusinessCalendar) -> None:
    # Mon 2025-01-13 10:00 CET -> 15:00 CET.
    assert berlin.remaining(utc(2025, 1, 13, 9), utc(2025, 1, 13, 14)) == 5 * H


def test_remaining_negative_when_overdue(berlin: BusinessCalendar) -> None:
    # Due Fri 17:00 CET, now Mon 10:00 CET: overdue by Fri 17-18 and Mon 09-10, i.e. 2h.
    assert berlin.remaining(utc(2025, 1, 13, 9), utc(2025, 1, 10, 16)) == -2 * H
    assert berlin.remaining(utc(2025, 1, 10, 16), utc(2025, 1, 10, 16)) == timedelta(0)


# -- open_intervals ----------------------------------------------------------------------------


def test_open_intervals_merges_overlapping_and_adjacent_windows() -> None:
    cal = BusinessCalendar(
        "merged",
        "UTC",
        [
            WeeklyWindow(0, time(9), time(12)),
            WeeklyWindow(0, time(12), time(18)),
            WeeklyWindow(0, time(11), time(13)),
            WeeklyWindow(0, time(22), time(2)),
            WeeklyWindow(1, time(1), time(5)),
        ],
    )
    assert list(cal.open_intervals(utc(2025, 1, 6), utc(2025, 1, 8))) == [
        (utc(2025, 1, 6, 9), utc(2025, 1, 6, 18)),
        (utc(2025, 1, 6, 22), utc(2025, 1, 7, 5)),
    ]
    assert cal.day_length == 13 * H  # Monday: 09:00-18:00 plus 22:00-02:00


def test_open_intervals_joins_full_days_and_clips(night: BusinessCalendar) -> None:
    always = BusinessCalendar(
        "Mon+Tue", "UTC", [WeeklyWindow(0, time(0), time(0)), WeeklyWindow(1, time(0), time(0))]
    )
    assert list(always.open_intervals(utc(2025, 1, 5), utc(2025, 1, 10))) == [
        (utc(2025, 1, 6), utc(2025, 1, 8))
    ]
    assert always.day_length == 24 * H
    assert list(night.open_intervals(utc(2025, 1, 6, 12), utc(2025, 1, 7, 6))) == [
        (utc(2025, 1, 6, 12), utc(2025, 1, 7, 1)),
        (utc(2025, 1, 7, 5), utc(2025, 1, 7, 6)),
    ]
    assert list(night.open_intervals(utc(2025, 1, 7), utc(2025, 1, 6))) == []


# -- AlwaysOpen --------------------------------------------------------------------------------


def test_always_open() -> None:
    cal = AlwaysOpen()
    assert cal.name == "24/7"
    assert cal.day_length == 24 * H
    start = utc(2025, 1, 10, 23, 30)
    assert cal.is_open(start)
    assert cal.add(start, 6 * H) == utc(2025, 1, 11, 5, 30)
    pause = (utc(2025, 1, 11), utc(2025, 1, 11, 2))
    assert cal.add(start, 6 * H, [pause]) == utc(2025, 1, 11, 7, 30)
    assert cal.elapsed(start, start + 24 * H) == 24 * H
    assert cal.elapsed(start, start + 24 * H, [pause]) == 22 * H
    assert cal.remaining(start + 3 * H, start) == -3 * H
    local = datetime(2025, 1, 11, 9, tzinfo=BERLIN)
    assert cal.next_opening(local) == utc(2025, 1, 11, 8)
    assert cal.next_opening(local).tzinfo is UTC
    assert list(cal.open_intervals(start, start + H)) == [(start, start + H)]


def test_both_calendars_satisfy_the_protocol(berlin: BusinessCalendar) -> None:
    assert isinstance(AlwaysOpen("x"), Calendar)
    assert isinstance(berlin, Calendar)


# -- day_length and validation -----------------------------------------------------------------


def test_day_length() -> None:
    assert BusinessCalendar("d", "UTC", weekdays(time(6), time(18))).day_length == 12 * H
    explicit = BusinessCalendar("d", "UTC", weekdays(time(6), time(18)), day_length=8 * H)
    assert explicit.day_length == 8 * H


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add(datetime(2025, 1, 13, 9), H),
        lambda c: c.elapsed(utc(2025, 1, 13), datetime(2025, 1, 14)),
        lambda c: c.remaining(datetime(2025, 1, 13), utc(2025, 1, 14)),
        lambda c: c.is_open(datetime(2025, 1, 13, 9)),
        lambda c: c.next_opening(datetime(2025, 1, 13, 9)),
        lambda c: list(c.open_intervals(datetime(2025, 1, 13), utc(2025, 1, 14))),
        lambda c: c.add(utc(2025, 1, 13), H, [(datetime(2025, 1, 13), utc(2025, 1, 14))]),
    ],
)
@pytest.mark.parametrize("calendar", ["business", "always"])
def test_naive_datetimes_are_rejected(call, calendar: str, berlin: BusinessCalendar) -> None:
    cal = berlin if calendar == "business" else AlwaysOpen()
    with pytest.raises(ValueError, match="timezone-aware"):
        call(cal)


def test_negative_duration_is_rejected(berlin: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        berlin.add(utc(2025, 1, 13), -H)


def test_empty_windows_rejected() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BusinessCalendar("empty", "UTC", [])


def test_unknown_time_zone_rejected() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        BusinessCalendar("x", "Mars/Olympus_Mons", weekdays(time(9), time(17)))


@pytest.mark.parametrize("weekday", [-1, 7])
def test_weekday_out_of_range_rejected(weekday: int) -> None:
    with pytest.raises(ValueError, match="weekday"):
        BusinessCalendar("x", "UTC", [WeeklyWindow(weekday, time(9), time(17))])


def test_calendar_that_never_opens_raises() -> None:
    class Everything:
        def __contains__(self, item: object) -> bool:
            return True

    cal = BusinessCalendar("never", "UTC", weekdays(time(9), time(17)), closed=Everything())
    assert not cal.is_open(utc(2025, 1, 13, 10))
    assert cal.elapsed(utc(2025, 1, 1), utc(2026, 1, 1)) == timedelta(0)
    with pytest.raises(ValueError, match="no open time"):
        cal.add(utc(2025, 1, 13), H)
    with pytest.raises(ValueError, match="no open time"):
        cal.next_opening(utc(2025, 1, 13))
