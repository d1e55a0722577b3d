"""Benchmark bot.timekeeping.calendars against the `businesstimedelta` package.

Scenario: Monday-Friday 09:00-18:00 Europe/Berlin with German public holidays; 6 business
hours added to each of N random starts over one year (seeded). Both engines get the same
instants and their due times are compared in UTC. Each engine starts with cold caches and its
own, pre-populated holiday table, so neither pays for building the other's.

Usage: .venv/bin/python benchmarks/bench_calendar.py [--n N] [--seed SEED] [--year YEAR]
Exit status: 1 if any due time differs, 2 if the speed-up is below 10x, else 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall

import businesstimedelta
import holidays
import pytz

from bot.timekeeping.calendars import BusinessCalendar, WeeklyWindow

TARGET = timedelta(hours=6)
MIN_RATIO = 10.0


def random_starts(n: int, seed: int, year: int) -> list[datetime]:
    rng = random.Random(seed)
    begin = datetime(year, 1, 1, tzinfo=UTC)
    seconds = int((datetime(year + 1, 1, 1, tzinfo=UTC) - begin).total_seconds())
    return [begin + timedelta(seconds=rng.randrange(seconds)) for _ in range(n)]


def german_holidays(year: int) -> holidays.HolidayBase:
    # Populate a few years up front so both engines see the same, already-built table.
    return holidays.country_holidays("DE", years=range(year - 1, year + 3))


def run_ours(starts: list[datetime], year: int) -> tuple[float, list[datetime]]:
    closed = german_holidays(year)
    t0 = time.perf_counter()
    cal = BusinessCalendar(
        "Berlin office",
        "Europe/Berlin",
        [WeeklyWindow(d, wall(9), wall(18)) for d in range(5)],
        closed=closed,
    )
    due = [cal.add(s, TARGET) for s in starts]
    return time.perf_counter() - t0, due


def run_businesstimedelta(starts: list[datetime], year: int) -> tuple[float, list[datetime]]:
    closed = german_holidays(year)
    t0 = time.perf_counter()
    # businesstimedelta wants pytz zones: it calls tz.localize() on local wall times.
    berlin = pytz.timezone("Europe/Berlin")
    rule = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=wall(9), end_time=wall(18), working_days=[0, 1, 2, 3, 4], tz=berlin
            ),
            businesstimedelta.HolidayRule(closed, tz=berlin),
        ]
    )
    delta = businesstimedelta.BusinessTimeDelta(rule, timedelta=TARGET)
    due = [(s + delta).astimezone(UTC) for s in starts]
    return time.perf_counter() - t0, due


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--year", type=int, default=2025)
    args = parser.parse_args(argv)

    starts = random_starts(args.n, args.seed, args.year)
    ours_s, ours_due = run_ours(starts, args.year)
    btd_s, btd_due = run_businesstimedelta(starts, args.year)

    mismatches = [(s, a, b) for s, a, b in zip(starts, ours_due, btd_due, strict=True) if a != b]
    ratio = btd_s / ours_s
    print(f"N                        {args.n}")
    print(f"bot.timekeeping.calendars total   {ours_s:.4f} s")
    print(f"businesstimedelta total  {btd_s:.4f} s")
    print(f"bot.timekeeping.calendars per add {ours_s / args.n * 1e6:.2f} us")
    print(f"businesstimedelta per add {btd_s / args.n * 1e6:.2f} us")
    print(f"ratio                    {ratio:.1f}x")
    print(f"mismatches               {len(mismatches)}")
    for start, a, b in mismatches[:10]:
        print(
            f"  start {start.isoformat()}: ours {a.isoformat()}, businesstimedelta {b.isoformat()}"
        )
    if mismatches:
        return 1
    if ratio < MIN_RATIO:
        print(f"speed-up below the required {MIN_RATIO:.0f}x")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
