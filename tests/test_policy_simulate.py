"""`escalation-bot policy simulate` and bot.simulation: due times and why, worked out by hand.

Calendars used (all from the shipped policies):
- core-hours: UTC, a window opening Mon-Fri 05:00 and closing 01:00 the next day.
- cet-business-hours: Europe/Berlin Mon-Fri 06:00-18:00; CEST (UTC+2) until Sun 25 Oct 2026
  03:00, CET (UTC+1) after; CET until Sun 29 Mar 2026 02:00, CEST after.
- business-hours (four levels): Europe/London Mon-Fri 09:00-18:00 minus England's bank
  holidays; in December London is on GMT, so local time is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from bot.cli import _register, cli
from bot.cli.policy import policy
from bot.policies import Policy, load_policies
from bot.simulation.inputs import SimulationError, parse_instant, parse_pause, parse_zone
from bot.simulation.render import render
from bot.simulation.stretches import Closure, Stretch, explain
from bot.simulation.timeline import simulate
from bot.timekeeping.calendars import AlwaysOpen, BusinessCalendar, WeeklyWindow

SHIPPED = Path(__file__).resolve().parent.parent / "policies"
FIVE = "five-severities-urgent-around-the-clock"
CET = "four-priorities-cet-business-hours"
LONDON = "four-levels-business-hours-holidays"
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return {p.id: p for p in load_policies(SHIPPED)}


@pytest.fixture(autouse=True)
def _policies_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICIES_PATH", str(SHIPPED))


def run(*args: str) -> Result:
    return CliRunner().invoke(policy, ["simulate", *args])


def counted(stretches: tuple[Stretch, ...]) -> list[tuple[datetime, datetime]]:
    return [(s.start, s.end) for s in stretches if s.kind == "counted"]


# --- the command line ----------------------------------------------------------------------


def test_acceptance_sev3_late_friday_is_due_monday_morning() -> None:
    _register()
    result = CliRunner().invoke(
        cli,
        ["policy", "simulate", FIVE, "--severity", "SEV3", "--opened", "2026-11-20T23:30:00Z"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Policy      {FIVE} · SEV 3 - Medium · calendar core-hours")
    # 1h30m on Friday night, closed for the weekend, then the remaining 4h30m on Monday
    assert lines[4].startswith("Counted     Fri 20 Nov 23:30 -> Sat 21 Nov 01:00 UTC")
    assert lines[5].startswith("Skipped     Sat 21 Nov 01:00 -> Mon 23 Nov 05:00 UTC")
    assert lines[6].startswith("Counted     Mon 23 Nov 05:00 -> 09:30 UTC")
    assert "1h30m  (total 1h30m)" in lines[4]
    assert "closed (weekend)" in lines[5]
    assert "4h30m  (total 6h)" in lines[6]
    assert "Reminder    Mon 23 Nov 2026 08:30 UTC" in result.output  # 1h before due
    assert "Due         Mon 23 Nov 2026 09:30 UTC" in result.output
    assert "Breach      Mon 23 Nov 2026 09:30 UTC" in result.output
    assert "Page" not in result.output


def test_a_pause_in_the_monday_window_pushes_the_due_time_by_the_paused_time() -> None:
    # 06:00-07:15 lies inside Monday's window: 1h15m of business time, so 09:30 -> 10:45
    result = run(
        FIVE, "--severity", "sev3", "--opened", "2026-11-20T23:30:00Z",
        "--pause", "2026-11-23T06:00:00Z/2026-11-23T07:15:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Due         Mon 23 Nov 2026 10:45 UTC" in result.output
    assert "Skipped     Mon 23 Nov 06:00 -> 07:15 UTC" in result.output
    assert "paused, waiting on the requester" in result.output


def test_pauses_count_only_where_the_calendar_is_open() -> None:
    # Fri 23:45 -> Mon 06:00 pauses 1h15m of Friday night and 1h of Monday (the weekend was
    # closed anyway): 09:30 + 2h15m = 11:45. The second, Mon 10:00-10:30 UTC, adds 30m: 12:15.
    result = run(
        FIVE, "--severity", "p3", "--opened", "2026-11-20T23:30:00+00:00",
        "--pause", "2026-11-20T23:45:00Z/2026-11-23T06:00:00Z",
        "--pause", "2026-11-23T11:00:00+01:00/2026-11-23T11:30:00+01:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Due         Mon 23 Nov 2026 12:15 UTC" in result.output
    skipped = [line for line in result.output.splitlines() if line.startswith("Skipped")]
    assert [line.split("  ")[-1].strip() for line in skipped] == [
        "paused, waiting on the requester",
        "closed (weekend)",
        "paused, waiting on the requester",
        "paused, waiting on the requester",
    ]


def test_berlin_across_the_autumn_clock_change() -> None:
    # Fri 17:00 CEST (15:00 UTC): 1h until 18:00 CEST; the weekend ends the summer time, so
    # Monday opens 06:00 CET = 05:00 UTC, and the second hour ends 07:00 CET = 06:00 UTC.
    result = run(CET, "--severity", "CRITICAL", "--opened", "2026-10-23T17:00:00+02:00")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Opened      Fri 23 Oct 2026 17:00 CEST (15:00 UTC)" in out
    assert "Counted     Fri 23 Oct 17:00 -> 18:00 CEST (15:00 -> 16:00 UTC)" in out
    assert "closed (weekend); clocks change CEST -> CET" in out
    assert "Counted     Mon 26 Oct 06:00 -> 07:00 CET (05:00 -> 06:00 UTC)" in out
    assert "Due         Mon 26 Oct 2026 07:00 CET (06:00 UTC)" in out
    # Critical also has a next-response target, shown as if its clock started at the opening
    assert "Target      next response 2h of business time, if its clock started" in out
    assert "if no responder has posted an update by then" in out


def test_berlin_across_the_spring_clock_change() -> None:
    # Fri 27 Mar 17:00 CET = 16:00 UTC: 1h to 18:00 CET; Monday 06:00 CEST = 04:00 UTC
    result = run(CET, "--severity", "critical", "--opened", "2026-03-27T16:00:00Z")
    assert result.exit_code == 0, result.output
    assert "Due         Mon 30 Mar 2026 07:00 CEST (05:00 UTC)" in result.output
    assert "clocks change CET -> CEST" in result.output


def test_business_days_on_the_berlin_calendar() -> None:
    # medium is 2d at 12h a day = 24h: 1h on Friday, 12h Monday, 11h Tuesday -> Tue 17:00 CET
    result = run(CET, "--severity", "Medium", "--opened", "2026-10-23T17:00:00+02:00")
    assert result.exit_code == 0, result.output
    assert "first response 2d of business time = 24h (1d = 12h)" in result.output
    assert "closed (night)" in result.output
    assert "Due         Tue 27 Oct 2026 17:00 CET (16:00 UTC)" in result.output


def test_christmas_and_the_observed_boxing_day_are_skipped_by_name() -> None:
    # Thu 24 Dec 17:00 GMT: 1h to 18:00; Fri 25 (Christmas), the weekend and Mon 28 (Boxing
    # Day moved off Saturday) are closed; 3h more on Tue 29 Dec -> 12:00.
    result = run(
        str(SHIPPED / f"{LONDON}.yaml"),
        "--severity", "urgent", "--opened", "2026-12-24T17:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Skipped     Thu 24 Dec 18:00 -> Tue 29 Dec 09:00 GMT (= UTC)" in out
    assert "closed (Christmas Day on Fri 25 Dec; weekend; Boxing Day" in out
    assert "on Mon 28 Dec)" in out
    assert "Due         Tue 29 Dec 2026 12:00 GMT (= UTC)" in out


def test_urgent_severity_pages_its_chain_step_by_step() -> None:
    result = run(FIVE, "--severity", "critical", "--opened", "2026-11-20T23:30:00Z")
    assert result.exit_code == 0, result.output
    assert "calendar 24/7 (always open)" in result.output
    pages = [line for line in result.output.splitlines() if line.startswith("Page")]
    # The weekly rotation from Monday 5 Jan 09:00 has handed over 45 times by then: the
    # first of its three people is on call again.
    on_call = "U00000000E1 (on call in engineering)"
    tail = ", if nobody has acknowledged"
    gap = " " * 17  # the column is as wide as the widest time printed
    assert [line.replace(gap, "  ") for line in pages] == [
        f"Page        Fri 20 Nov 2026 23:30 UTC  chain urgent level 1, round 1: {on_call}{tail}",
        f"Page        Fri 20 Nov 2026 23:40 UTC  chain urgent level 2, round 1: U00000000L1{tail}",
        f"Page        Fri 20 Nov 2026 23:55 UTC  chain urgent level 1, round 2: {on_call}{tail}",
        f"Page        Sat 21 Nov 2026 00:05 UTC  chain urgent level 2, round 2: U00000000L1{tail}",
        f"Page        Sat 21 Nov 2026 00:20 UTC  chain urgent fallback: channel C00000000P1{tail}",
    ]
    assert "Due         Sat 21 Nov 2026 00:30 UTC" in result.output


@pytest.mark.parametrize("name", ["sev3", "SEV3", "SEV-3", "sev 3", "SEV 3 - Medium", "P3"])
def test_any_id_name_or_alias_finds_the_severity(name: str) -> None:
    result = run(FIVE, "--severity", name, "--opened", "2026-11-20T23:30:00Z")
    assert result.exit_code == 0, result.output
    assert "SEV 3 - Medium" in result.output.splitlines()[0]


def test_tz_chooses_the_display_zone_and_keeps_utc_on_every_line() -> None:
    result = run(
        FIVE, "--severity", "sev3", "--opened", "2026-11-20T23:30:00Z", "--tz", "Asia/Tokyo"
    )
    assert result.exit_code == 0, result.output
    assert "Opened      Sat 21 Nov 2026 08:30 JST (Fri 20 Nov 23:30 UTC)" in result.output
    assert "Due         Mon 23 Nov 2026 18:30 JST (09:30 UTC)" in result.output
    timed = [line for line in result.output.splitlines()[1:] if line and "Target" not in line]
    assert all("UTC" in line for line in timed)


def test_a_policy_file_path_works_as_well_as_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICIES_PATH")
    path = str(SHIPPED / f"{FIVE}.yaml")
    result = run(path, "--severity", "p3", "--opened", "2026-11-23T05:00Z")
    assert result.exit_code == 0, result.output
    assert "Due         Mon 23 Nov 2026 11:00 UTC" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--severity", "sev3"], "no policy 'nope' in "),
        (["missing.yaml", "--severity", "sev3"], "no policy file missing.yaml"),
        ([FIVE, "--severity", "sev9"], "has no severity 'sev9': use one of sev1 (critical, p1)"),
        ([FIVE, "--severity", "sev3", "--opened", "2026-11-20T23:30"], "add Z for UTC"),
        ([FIVE, "--severity", "sev3", "--opened", "Friday night"], "not an ISO 8601 time"),
        ([FIVE, "--severity", "sev3", "--pause", "2026-11-23T06:00Z"], "is not FROM/TO"),
        (
            [FIVE, "--severity", "sev3", "--pause", "2026-11-23T07:00Z/2026-11-23T06:00Z"],
            "ends before it starts",
        ),
        ([FIVE, "--severity", "sev3", "--pause", "2026-11-23T07:00/2026-11-23T08:00Z"], "add Z"),
        ([FIVE, "--severity", "sev3", "--tz", "Europe/Berln"], "did you mean Europe/Berlin?"),
        ([str(SHIPPED), "--severity", "sev3"], "is a folder"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_2(args: list[str], message: str) -> None:
    if "--opened" not in args:
        args = [*args, "--opened", "2026-11-20T23:30:00Z"]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("escalation-bot: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unknown_severity_lists_every_valid_one() -> None:
    result = run(FIVE, "--severity", "urgent", "--opened", "2026-11-20T23:30:00Z")
    for listed in ("sev1", "sev2", "sev3 (medium, p3)", "sev4", "sev5 (lowest, p5)"):
        assert listed in result.stderr


def test_a_broken_policy_folder_points_at_policy_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.yaml").write_text("id: bad\n", encoding="utf-8")
    monkeypatch.setenv("POLICIES_PATH", str(tmp_path))
    result = run("bad", "--severity", "sev1", "--opened", "2026-11-20T23:30:00Z")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert f"escalation-bot policy check {tmp_path}" in result.stderr


def test_check_still_works_next_to_simulate() -> None:
    result = CliRunner().invoke(policy, ["check", str(SHIPPED)])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "ok: 4 policies, 16 severities"


# --- the structured result -----------------------------------------------------------------


def test_simulation_of_the_acceptance_case(policies: dict[str, Policy]) -> None:
    sim = simulate(policies[FIVE], "medium", utc(2026, 11, 20, 23, 30))
    assert sim.severity.id == "sev3"
    assert sim.pages == ()
    (target,) = sim.targets
    assert target.kind == "first_response"
    assert target.open_time == 6 * H
    assert target.due == target.breach == utc(2026, 11, 23, 9, 30)
    assert target.stretches == (
        Stretch(utc(2026, 11, 20, 23, 30), utc(2026, 11, 21, 1), "counted", 90 * M, 90 * M),
        Stretch(
            utc(2026, 11, 21, 1), utc(2026, 11, 23, 5), "closed", closures=(Closure("weekend"),)
        ),
        Stretch(utc(2026, 11, 23, 5), utc(2026, 11, 23, 9, 30), "counted", 270 * M, 6 * H),
    )
    (reminder,) = target.reminders
    assert (reminder.after, reminder.at) == (5 * H, utc(2026, 11, 23, 8, 30))


def test_the_stretches_add_up_to_the_target(policies: dict[str, Policy]) -> None:
    pauses = [(utc(2026, 11, 24, 10), utc(2026, 11, 25, 7))]
    sim = simulate(policies[FIVE], "sev5", utc(2026, 11, 20, 23, 30), pauses)
    (target,) = sim.targets
    assert target.open_time == 20 * H  # 1d on core-hours is business_day: 20h
    assert sum((s.counted for s in target.stretches), timedelta()) == target.open_time
    assert target.stretches[0].start == sim.opened
    assert target.stretches[-1].end == target.due
    assert all(a.end == b.start for a, b in pairwise(target.stretches))
    calendar = policies[FIVE].calendar("core-hours")
    assert target.due == calendar.add(sim.opened, 20 * H, pauses)


def test_urgent_severity_pages_at_the_opening_instant(policies: dict[str, Policy]) -> None:
    opened = datetime(2026, 11, 21, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    sim = simulate(policies[FIVE], "P1", opened)
    assert sim.pages[0][0] == opened == sim.opened
    assert [at - opened for at, _ in sim.pages] == [
        0 * H,
        H / 6,
        H * 25 / 60,
        H * 35 / 60,
        H * 50 / 60,
    ]
    assert sim.opened.tzinfo is UTC
    (target,) = sim.targets
    assert target.due == opened + H
    assert [r.at for r in target.reminders] == [opened + 30 * M, opened + 45 * M]


def test_next_response_target_runs_from_the_opening(policies: dict[str, Policy]) -> None:
    sim = simulate(policies[CET], "high", utc(2026, 10, 26, 5))
    assert [t.kind for t in sim.targets] == ["first_response", "next_response"]
    assert {t.due for t in sim.targets} == {utc(2026, 10, 26, 9)}


def test_holidays_are_named_with_their_dates(policies: dict[str, Policy]) -> None:
    sim = simulate(policies[LONDON], "l1", utc(2026, 12, 24, 17))
    (target,) = sim.targets
    assert target.due == utc(2026, 12, 29, 12)
    closed = [s for s in target.stretches if s.kind == "closed"]
    assert len(closed) == 1
    christmas, weekend, boxing = closed[0].closures
    assert (christmas.label, christmas.day) == ("Christmas Day", date(2026, 12, 25))
    assert weekend == Closure("weekend")
    assert boxing.label.startswith("Boxing Day") and boxing.day == date(2026, 12, 28)


def test_a_holiday_that_cancels_nothing_is_not_a_reason() -> None:
    # Boxing Day on Saturday 26 Dec has no hours to cancel: the Saturday is just the weekend
    calendar = BusinessCalendar(
        "office",
        "Europe/London",
        [WeeklyWindow(d, time(9), time(18)) for d in range(5)],
        frozenset({date(2026, 12, 26)}),
    )
    (stretch,) = explain(calendar, utc(2026, 12, 25, 18), utc(2026, 12, 28, 9))
    assert stretch.closures == (Closure("weekend"),)


def test_closed_dates_without_names_and_days_without_hours() -> None:
    # open Mon, Tue, Thu, Fri 09:00-17:00 UTC; Tue 1 Dec 2026 closed by a plain set of dates
    calendar = BusinessCalendar(
        "odd",
        "UTC",
        [WeeklyWindow(d, time(9), time(17)) for d in (0, 1, 3, 4)],
        frozenset({date(2026, 12, 1)}),
    )
    (stretch,) = explain(calendar, utc(2026, 11, 30, 17), utc(2026, 12, 3, 9))
    assert stretch.closures == (
        Closure("closed date", date(2026, 12, 1)),
        Closure("not open on Wed"),
    )


def test_night_and_outside_hours() -> None:
    calendar = BusinessCalendar(
        "split", "UTC", [WeeklyWindow(0, time(9), time(12)), WeeklyWindow(0, time(13), time(17))]
    )
    lunch, evening = explain(calendar, utc(2026, 11, 23, 12), utc(2026, 11, 23, 18))[::2]
    assert lunch.closures == (Closure("outside hours"),)
    assert evening.closures == (Closure("outside hours"),)  # 17:00-18:00 is not yet night
    before = explain(calendar, utc(2026, 11, 23, 3), utc(2026, 11, 23, 10))[0]
    assert before.closures == (Closure("night"),)


def test_a_window_on_the_night_the_clocks_go_back_counts_seven_hours() -> None:
    # Sunday 00:00-06:00 Berlin on 25 Oct 2026 runs 22:00 UTC Sat to 05:00 UTC Sun
    calendar = BusinessCalendar("sunday", "Europe/Berlin", [WeeklyWindow(6, time(0), time(6))])
    (stretch,) = explain(calendar, utc(2026, 10, 24, 22), utc(2026, 10, 25, 5))
    assert stretch.kind == "counted"
    assert stretch.counted == 7 * H
    assert stretch.clock_change == "CEST -> CET"


def test_always_open_with_a_pause() -> None:
    stretches = explain(
        AlwaysOpen(),
        utc(2026, 1, 1),
        utc(2026, 1, 1, 3),
        [(utc(2026, 1, 1, 1), utc(2026, 1, 1, 2))],
    )
    assert [(s.kind, s.counted, s.total) for s in stretches] == [
        ("counted", H, H),
        ("paused", timedelta(), timedelta()),
        ("counted", H, 2 * H),
    ]
    assert stretches[1].closures == ()


def test_unknown_severity_raises_listing_the_valid_ones(policies: dict[str, Policy]) -> None:
    with pytest.raises(SimulationError, match=r"use one of critical, high, medium, low$"):
        simulate(policies[CET], "p1", utc(2026, 1, 1))


def test_parsing() -> None:
    assert parse_instant("2026-11-20T23:30:00Z") == utc(2026, 11, 20, 23, 30)
    assert parse_instant(" 2026-11-21T00:30+01:00 ") == utc(2026, 11, 20, 23, 30)
    assert parse_pause("2026-11-23T06:00Z/2026-11-23T08:00+01:00") == (
        utc(2026, 11, 23, 6),
        utc(2026, 11, 23, 7),
    )
    with pytest.raises(SimulationError, match="has no time zone"):
        parse_instant("2026-11-20T23:30")
    with pytest.raises(SimulationError, match="is empty"):
        parse_pause("2026-11-23T06:00Z/2026-11-23T07:00+01:00")
    assert parse_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    with pytest.raises(SimulationError, match="unknown time zone"):
        parse_zone("Mars/Olympus")


def test_render_lines_are_aligned(policies: dict[str, Policy]) -> None:
    sim = simulate(policies[FIVE], "sev3", utc(2026, 11, 20, 23, 30))
    lines = render(sim)
    assert lines[1] == "Opened      Fri 20 Nov 2026 23:30 UTC"
    assert lines[2] == ""
    assert lines[3] == "Target      first response 6h of business time"
    details = ["1h30m", "closed (weekend)", "4h30m", "1h before due", "if no responder"]
    columns = {line.index(d) for line in lines[4:] for d in details if d in line}
    assert len(columns) == 1
