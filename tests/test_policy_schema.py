"""Policy models, durations and the shipped policies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.policies import (
    Duration,
    NoPolicyForChannel,
    Policy,
    PolicyProblems,
    PolicySet,
    check_policies,
    load_policies,
    parse_duration,
    parse_reminder,
)
from bot.timekeeping.calendars import AlwaysOpen, BusinessCalendar
from tests.support.policy_content import minimal

SHIPPED = Path(__file__).resolve().parent.parent / "policies"
SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))


# --- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("15m", 0, 900),
        ("2h", 0, 7200),
        ("2d", 2, 0),
        ("90s", 0, 90),
        ("1h30m", 0, 5400),
        ("1d 4h", 1, 14400),
        (" 1D 4H ", 1, 14400),
        ("36h", 0, 129600),
    ],
)
def test_parse_duration(text: str, days: int, seconds: int) -> None:
    assert parse_duration(text) == Duration(days=days, seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2x", "'2x' is not a duration: use a number followed by d, h, m or s, e.g. 15m, 2h, 1d"),
        ("", "is not a duration"),
        ("h", "is not a duration"),
        ("15", "is not a duration"),
        ("0m", "is zero"),
        ("0d 0h", "is zero"),
        ("-1h", "is negative"),
        ("1.5h", "has a fraction"),
        ("1h 1h", "twice"),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert message in str(caught.value)


def test_duration_converts_days_with_the_calendars_day_length() -> None:
    duration = parse_duration("1d 4h")
    assert duration.to_timedelta(timedelta(hours=20)) == timedelta(hours=24)
    assert duration.to_timedelta(timedelta(hours=24)) == timedelta(hours=28)
    assert str(duration) == "1d4h"
    assert parse_duration(str(parse_duration("90m"))) == parse_duration("1h30m")


def test_reminders() -> None:
    half = parse_reminder("50%")
    ahead = parse_reminder("15m before")
    assert half.fires_after(timedelta(hours=2), timedelta(hours=8)) == timedelta(hours=1)
    assert ahead.fires_after(timedelta(hours=2), timedelta(hours=8)) == timedelta(minutes=105)
    assert (str(half), str(ahead)) == ("50%", "15m before")
    for bad in ("150%", "0%", "100%", "soon", "15m after"):
        with pytest.raises(ValueError):
            parse_reminder(bad)


# --- shipped policies -------------------------------------------------------------------


def test_four_shipped_policies() -> None:
    assert len(SHIPPED_FILES) == 4


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_each_shipped_policy_passes_check(path: Path) -> None:
    assert check_policies(path) == []


def test_the_shipped_folder_loads_with_one_default() -> None:
    policies = load_policies(SHIPPED)
    assert len(policies) == 4
    assert policies.default is not None
    assert policies.default.id == "five-severities-urgent-around-the-clock"
    assert policies.for_channel("C0SOMEWHERE") is policies.default
    assert policies.for_channel("C00000000A2").id == "four-priorities-cet-business-hours"
    for policy in policies:
        assert policy.source_path is not None
        assert Path(policy.source_path).parent == SHIPPED


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(SHIPPED)


def test_aliases_resolve(shipped: PolicySet) -> None:
    sevs = shipped.get("five-severities-urgent-around-the-clock")
    assert sevs is not None
    for name in ("sev1", "SEV-1", "Sev 1", "sev_1", "critical", "P1", "SEV 1 - Critical"):
        found = sevs.severity(name)
        assert found is not None and found.id == "sev1", name
    assert sevs.severity("sev9") is None
    levels = shipped.get("four-levels-business-hours-holidays")
    assert levels is not None
    assert levels.severity("Level 2").id == "level-2"  # type: ignore[union-attr]
    assert levels.severity("urgent").id == "level-1"  # type: ignore[union-attr]


def test_calendar_types_and_targets(shipped: PolicySet) -> None:
    sevs = shipped.get("five-severities-urgent-around-the-clock")
    assert sevs is not None
    assert isinstance(sevs.calendar_for("sev1"), AlwaysOpen)
    core = sevs.calendar_for("SEV 3")
    assert isinstance(core, BusinessCalendar)
    assert core is sevs.calendar_for("sev4")  # built once
    assert sevs.target("sev1", "first_response") == timedelta(hours=1)
    assert sevs.target("sev4", "first_response") == timedelta(hours=20)  # 1d of core hours
    assert sevs.target("sev1", "resolution") is None
    assert [sevs.chain_for(s.id) for s in sevs.ordered_severities] == [
        "urgent",
        "urgent",
        None,
        None,
        None,
    ]

    cet = shipped.get("four-priorities-cet-business-hours")
    assert cet is not None
    assert cet.target("low", "next_response") == timedelta(hours=60)  # 5 days of 12h
    # 2h of business time opened Friday 17:00 Berlin (16:00 UTC in winter) is due Monday 07:00
    due = cet.calendar_for("critical").add(
        datetime(2026, 1, 9, 16, tzinfo=UTC), cet.target("critical", "first_response")
    )
    assert due == datetime(2026, 1, 12, 6, tzinfo=UTC)


def test_holidays_close_the_business_calendar(shipped: PolicySet) -> None:
    levels = shipped.get("four-levels-business-hours-holidays")
    assert levels is not None
    calendar = levels.calendar_for("level-1")
    # 2026-12-25 and 2026-12-28 (Boxing Day observed) are English bank holidays
    assert not calendar.is_open(datetime(2026, 12, 25, 12, tzinfo=UTC))
    assert not calendar.is_open(datetime(2026, 12, 28, 12, tzinfo=UTC))
    assert calendar.is_open(datetime(2026, 12, 29, 12, tzinfo=UTC))


def test_default_severity_and_workaround_rule(shipped: PolicySet) -> None:
    cet = shipped.get("four-priorities-cet-business-hours")
    assert cet is not None
    assert cet.initial_severity.id == "medium"
    assert cet.requester_may_set_severity
    assert cet.on_workaround("Critical").id == "high"
    assert cet.on_workaround("medium").id == "low"
    assert cet.on_workaround("low").id == "low"
    assert cet.lower("critical", levels=2).id == "medium"
    assert cet.lower("critical", levels=9).id == "low"
    sevs = shipped.get("five-severities-urgent-around-the-clock")
    assert sevs is not None
    assert sevs.on_workaround("sev1").id == "sev1"  # no workaround rule in that contract


def test_workaround_rule_limited_to_some_severities() -> None:
    severities = [
        {"id": s, "name": s.upper(), "calendar": "24/7", "targets": {"first_response": "1h"}}
        for s in ("a", "b", "c", "d")
    ]
    rule = {"when": "workaround", "lower_by": 2, "severities": ["A", "c"]}
    policy = Policy.model_validate(minimal(severities=severities, rules=[rule]))
    assert [policy.on_workaround(s).id for s in "abcd"] == ["c", "b", "d", "d"]


def test_reminder_offsets(shipped: PolicySet) -> None:
    sevs = shipped.get("five-severities-urgent-around-the-clock")
    assert sevs is not None
    assert sevs.reminder_offsets("sev1", "first_response") == [
        timedelta(minutes=30),
        timedelta(minutes=45),
    ]
    assert sevs.reminder_offsets("sev1", "next_response") == []


# --- snapshots --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_snapshot_round_trip(path: Path) -> None:
    (policy,) = load_policies(path)
    content = json.loads(json.dumps(policy.content))  # as stored in the database
    rebuilt = Policy.from_snapshot(content, policy.content_hash)
    assert rebuilt == policy
    assert rebuilt.content_hash == policy.content_hash
    assert rebuilt.content == policy.content
    assert rebuilt.source_path is None
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == policy.content_hash
    for severity in policy.ordered_severities:
        for kind in ("first_response", "next_response", "resolution"):
            assert rebuilt.target(severity.id, kind) == policy.target(severity.id, kind)


def test_snapshot_with_a_wrong_hash_is_refused(shipped: PolicySet) -> None:
    policy = next(iter(shipped))
    with pytest.raises(ValueError, match="does not match"):
        Policy.from_snapshot(policy.content, "0" * 64)


def test_content_changes_change_the_hash() -> None:
    one = Policy.model_validate(minimal())
    two = Policy.model_validate(minimal(name="Q"))
    assert one != two and one.content_hash != two.content_hash
    assert one == Policy.model_validate(minimal()) and hash(one) == hash(Policy(**minimal()))


def test_policy_is_immutable() -> None:
    policy = Policy.model_validate(minimal())
    with pytest.raises(ValueError):
        policy.name = "changed"  # type: ignore[misc]
    policy.content["name"] = "changed"
    assert policy.name == "P" and policy.content["name"] == "P"


# --- semantic errors outside the loader -------------------------------------------------


def test_semantic_problems_carry_locations() -> None:
    broken = minimal(default_severity="nope")
    broken["severities"][0]["calendar"] = "office"
    with pytest.raises(PolicyProblems) as caught:
        Policy.model_validate(broken)
    locs = [loc for loc, _ in caught.value.problems]
    assert ("severities", 0, "calendar") in locs and ("default_severity",) in locs


def test_windows_accept_ranges_wrapping_and_midnight() -> None:
    calendar = {
        "timezone": "Europe/Berlin",
        "windows": [
            {"days": ["fri-mon"], "from": "22:00", "to": "24:00"},
            {"days": "Wednesday", "from": "9:00", "to": "17:30"},
        ],
        "closed": ["2026-12-24"],
    }
    policy = Policy.model_validate(
        minimal(
            calendars={"night": calendar},
            severities=[
                {"id": "s", "name": "S", "calendar": "night", "targets": {"first_response": "1d"}}
            ],
        )
    )
    spec = policy.calendars["night"]
    assert spec.windows[0].days == ("mon", "fri", "sat", "sun")
    assert spec.windows[1].days == ("wed",)
    assert policy.content["calendars"]["night"]["windows"][0]["to"] == "00:00"
    assert policy.target("s", "first_response") == timedelta(hours=8, minutes=30)  # longest day
    assert Policy.from_snapshot(policy.content) == policy


# --- the set of policies ----------------------------------------------------------------


def test_policy_set_without_default_raises_for_unlisted_channels() -> None:
    only = Policy.model_validate(minimal(default=False, channels=["C0123ABCD"]))
    policies = PolicySet([only])
    assert policies.for_channel("C0123ABCD") is only
    with pytest.raises(NoPolicyForChannel):
        policies.for_channel("C0OTHER00")


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (minimal(default=False, channels=["C0AAAAAAA"]), "policy id 'p' is already used"),
        (minimal(id="q"), "is already the default policy"),
        (minimal(id="q", default=False, channels=["C0BBBBBBB"]), "already covered by"),
    ],
)
def test_policy_set_conflicts(second: dict, message: str) -> None:
    first = Policy.model_validate(minimal(channels=["C0BBBBBBB"]))
    with pytest.raises(ValueError, match=message):
        PolicySet([first, Policy.model_validate(second)])
