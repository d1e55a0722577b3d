"""Due times of every shipped policy, worked out by hand from the contracts in `policies/`.

Each expected instant is written in UTC with the arithmetic beside it. Dates used:
Fri 2026-11-20; Christmas Fri 2026-12-25 and Boxing Day observed Mon 2026-12-28; Good Friday
2026-04-03 and Easter Monday 2026-04-06; Europe changes clocks at 01:00 UTC on Sun 2026-03-29
(London GMT->BST, Berlin CET->CEST) and Sun 2026-10-25 (back again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.policies import load_policies
from bot.policies.policy import Policy
from bot.sla.clocks import ClockEvent, breached, deadlines

POLICIES = load_policies(Path(__file__).resolve().parent.parent / "policies")

CORE = "five-severities-urgent-around-the-clock"  # 24/7 + core hours Mon-Fri 05:00-01:00 UTC
LONDON = "four-levels-business-hours-holidays"  # Mon-Fri 09:00-18:00 London, England holidays
BERLIN = "four-priorities-cet-business-hours"  # Mon-Fri 06:00-18:00 Berlin, no holidays
TIERS = "three-tiers-first-tier-around-the-clock"  # 24/7 + Mon-Fri 09:00-17:00 UTC


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def policy(policy_id: str) -> Policy:
    found = POLICIES.get(policy_id)
    assert found is not None, policy_id
    return found


def first_response(
    policy_id: str, severity: str, opened: datetime, *later: tuple[datetime, str]
) -> tuple[datetime | None, tuple[datetime, ...]]:
    """(due time, reminders) of the first-response clock, as of the last event."""
    events = [ClockEvent(opened, "opened", severity)]
    events += [ClockEvent(at, kind) for at, kind in later]  # type: ignore[arg-type]
    first = deadlines(policy(policy_id), events, events[-1].at)[0]
    assert first.kind == "first_response"
    return first.due_at, first.reminders


def due(policy_id: str, severity: str, opened: datetime, *later: tuple[datetime, str]) -> datetime:
    found = first_response(policy_id, severity, opened, *later)[0]
    assert found is not None
    return found


def test_every_shipped_policy_is_covered() -> None:
    assert {p.id for p in POLICIES} == {CORE, LONDON, BERLIN, TIERS}


# -- SEV1-SEV5: SEV1/2 24/7 (1h, 2h); SEV3 6h, SEV4/5 1d = 20h of core hours ---------------
# Core hours: a window opens Mon-Fri at 05:00 UTC and closes 01:00 UTC the next morning.

CORE_CASES = [
    # The spec's example: Fri 23:30-Sat 01:00 (1h30m), then 4h30m from Mon 05:00.
    pytest.param("sev3", utc(11, 20, 23, 30), utc(11, 23, 9, 30), id="spec-example-fri-2330"),
    # Friday evening, 24/7: 20:00 + 1h and 20:00 + 2h.
    pytest.param("sev1", utc(11, 20, 20), utc(11, 20, 21), id="fri-evening-sev1"),
    pytest.param("sev2", utc(11, 20, 20), utc(11, 20, 22), id="fri-evening-sev2"),
    # Friday evening, 20h: Fri 20:00-Sat 01:00 (5h) + Mon 05:00-20:00 (15h).
    pytest.param("sev4", utc(11, 20, 20), utc(11, 23, 20), id="fri-evening-sev4"),
    pytest.param("sev5", utc(11, 20, 20), utc(11, 23, 20), id="fri-evening-sev5"),
    # No holidays in this contract: Christmas Day is an ordinary Friday, 10:00 + 6h.
    pytest.param("sev3", utc(12, 25, 10), utc(12, 25, 16), id="christmas-is-open"),
    # Boxing Day observed, Mon 03:00: the gap, so 05:00 + 6h.
    pytest.param("sev3", utc(12, 28, 3), utc(12, 28, 11), id="boxing-day-observed-is-open"),
    # DST nights do not move a UTC calendar. Sun 00:30 is in no window (Friday's ended
    # Sat 01:00): Mon 05:00 + 6h, as on any other Sunday.
    pytest.param("sev3", utc(3, 29, 0, 30), utc(3, 30, 11), id="dst-march-night-sev3"),
    pytest.param("sev3", utc(10, 25, 0, 30), utc(10, 26, 11), id="dst-october-night-sev3"),
    # 24/7 counts real time across the European clock change at 01:00 UTC: 00:30 + 1h/2h.
    pytest.param("sev1", utc(3, 29, 0, 30), utc(3, 29, 1, 30), id="dst-march-night-sev1"),
    pytest.param("sev2", utc(10, 25, 0, 30), utc(10, 25, 2, 30), id="dst-october-night-sev2"),
    # The weekend around each change: Fri 22:00-Sat 01:00 (3h) + Mon 05:00-22:00 (17h).
    pytest.param("sev4", utc(3, 27, 22), utc(3, 30, 22), id="dst-march-weekend-sev4"),
    pytest.param("sev4", utc(10, 23, 22), utc(10, 26, 22), id="dst-october-weekend-sev4"),
    # Inside the 01:00-05:00 gap: Wed 02:00 counts from 05:00, + 6h.
    pytest.param("sev3", utc(11, 18, 2), utc(11, 18, 11), id="gap-wed-0200"),
    # Tue 03:00: Tue 05:00 + 20h runs out exactly as the window closes, Wed 01:00.
    pytest.param("sev4", utc(11, 17, 3), utc(11, 18, 1), id="gap-sev4-due-at-close"),
    # Across the gap: Tue 22:00-Wed 01:00 (3h) + Wed 05:00-08:00 (3h).
    pytest.param("sev3", utc(11, 17, 22), utc(11, 18, 8), id="across-the-gap"),
    # Sat 00:30 is still Friday's window: 30m, then Mon 05:00 + 5h30m.
    pytest.param("sev3", utc(11, 21, 0, 30), utc(11, 23, 10, 30), id="friday-window-on-saturday"),
    # Mon 01:30 (no Sunday window): Mon 05:00 + 6h.
    pytest.param("sev3", utc(11, 23, 1, 30), utc(11, 23, 11), id="gap-monday-0130"),
]


@pytest.mark.parametrize(("severity", "opened", "expected"), CORE_CASES)
def test_core_hours_policy(severity: str, opened: datetime, expected: datetime) -> None:
    assert due(CORE, severity, opened) == expected


def test_core_hours_reminders() -> None:
    # SEV3 "1h before" = 5h: Fri 23:30-01:00 (1h30m) + Mon 05:00-08:30 (3h30m).
    assert first_response(CORE, "sev3", utc(11, 20, 23, 30))[1] == (utc(11, 23, 8, 30),)
    # SEV1 "50%" = 30m, "15m before" = 45m, 24/7.
    assert first_response(CORE, "sev1", utc(11, 20, 20))[1] == (
        utc(11, 20, 20, 30),
        utc(11, 20, 20, 45),
    )
    # SEV4 "2h before" = 18h: Fri 20:00-01:00 (5h) + Mon 05:00-18:00 (13h).
    assert first_response(CORE, "sev4", utc(11, 20, 20))[1] == (utc(11, 23, 18),)


def test_core_hours_paused_over_a_weekend() -> None:
    # SEV4 20h. Thu 20:00-Fri 01:00 (5h) + Fri 05:00-10:00 (5h) = 10h, then waiting until the
    # requester writes on Mon 12:00: 10h more, Mon 12:00-22:00. Unpaused: Fri 20:00.
    assert due(CORE, "sev4", utc(11, 19, 20)) == utc(11, 20, 20)
    paused = due(
        CORE,
        "sev4",
        utc(11, 19, 20),
        (utc(11, 20, 10), "waiting_on_requester"),
        (utc(11, 23, 12), "requester_message"),
    )
    assert paused == utc(11, 23, 22)
    # SEV1 24/7: Fri 17:00-17:30 counted, paused to Mon 08:00, 30m left -> Mon 08:30.
    paused = due(
        CORE,
        "sev1",
        utc(11, 20, 17),
        (utc(11, 20, 17, 30), "waiting_on_requester"),
        (utc(11, 23, 8), "requester_message"),
    )
    assert paused == utc(11, 23, 8, 30)


def test_core_hours_severity_raised_after_its_new_due_time() -> None:
    # SEV3 opened Mon 06:00 (due 12:00); raised to SEV1 at 08:00: 06:00 + 1h = 07:00, missed.
    events = [
        ClockEvent(utc(11, 23, 6), "opened", "sev3"),
        ClockEvent(utc(11, 23, 8), "severity_changed", "critical"),
    ]
    first = deadlines(policy(CORE), events, utc(11, 23, 8))[0]
    assert (first.severity, first.due_at) == ("sev1", utc(11, 23, 7))
    assert breached(first, utc(11, 23, 8))


# -- Level 1-4: 4h, 8h, 12h, 24h of Mon-Fri 09:00-18:00 London, England's bank holidays ------
# London is GMT (UTC+0) in winter and BST (UTC+1) from 29 March to 25 October 2026.

LONDON_CASES = [
    # Fri 17:00 GMT: Fri 17:00-18:00 (1h) + Mon 09:00-12:00 GMT (3h).
    pytest.param("level-1", utc(11, 20, 17), utc(11, 23, 12), id="fri-evening-level-1"),
    # Fri 17:30: 30m Fri + Mon 9h + Tue 09:00-11:30 (2h30m) = 12h.
    pytest.param("level-3", utc(11, 20, 17, 30), utc(11, 24, 11, 30), id="fri-evening-level-3"),
    # Fri 19:00, closed: Mon 9h + Tue 9h + Wed 09:00-15:00 (6h) = 24h.
    pytest.param("level-4", utc(11, 20, 19), utc(11, 25, 15), id="fri-evening-level-4"),
    # Thu 24 Dec 14:00: Thu 14:00-18:00 (4h); Fri 25 Christmas and Mon 28 Boxing Day
    # (observed) are closed; Tue 29 09:00-13:00 (4h).
    pytest.param("level-2", utc(12, 24, 14), utc(12, 29, 13), id="christmas-and-boxing-day"),
    # Opened on Christmas Day: nothing counts until Tue 29 09:00, + 4h.
    pytest.param("level-1", utc(12, 25, 10), utc(12, 29, 13), id="opened-on-christmas-day"),
    # Thu 2 Apr 15:00 UTC = 16:00 BST: Thu 16:00-18:00 BST (2h); Good Friday and Easter
    # Monday closed; Tue 7 Apr 09:00-11:00 BST = 08:00-10:00 UTC (2h).
    pytest.param("level-1", utc(4, 2, 15), utc(4, 7, 10), id="easter"),
    # Fri 27 Mar 16:00 GMT: Fri 16:00-18:00 (2h); Mon 30 is BST, 09:00 BST = 08:00 UTC,
    # + 2h = 10:00 UTC.
    pytest.param("level-1", utc(3, 27, 16), utc(3, 30, 10), id="dst-march-weekend"),
    # Thu 26 Mar 09:00 GMT: Thu 9h + Fri 9h (09:00-18:00 UTC), Mon 30 08:00-14:00 UTC (6h).
    pytest.param("level-4", utc(3, 26, 9), utc(3, 30, 14), id="dst-march-week-level-4"),
    # Sun 29 Mar 01:30 UTC (02:30 BST, just after the change): Mon 08:00 UTC + 4h.
    pytest.param("level-1", utc(3, 29, 1, 30), utc(3, 30, 12), id="dst-march-night"),
    # Fri 23 Oct 16:00 UTC = 17:00 BST: 1h to 18:00 BST (17:00 UTC); Mon 26 is GMT,
    # 09:00-12:00 UTC (3h).
    pytest.param("level-1", utc(10, 23, 16), utc(10, 26, 12), id="dst-october-weekend"),
    # Sun 25 Oct 00:30 UTC = 01:30 BST, the first of the two 01:30s: Mon 09:00 GMT + 4h.
    pytest.param("level-1", utc(10, 25, 0, 30), utc(10, 26, 13), id="dst-october-night"),
]


@pytest.mark.parametrize(("severity", "opened", "expected"), LONDON_CASES)
def test_london_business_hours_policy(severity: str, opened: datetime, expected: datetime) -> None:
    assert due(LONDON, severity, opened) == expected


def test_london_reminders() -> None:
    # Level 1 from Fri 17:00: "50%" = 2h -> 1h Fri + Mon 09:00-10:00;
    # "30m before" = 3h30m -> 1h Fri + Mon 09:00-11:30.
    assert first_response(LONDON, "level-1", utc(11, 20, 17))[1] == (
        utc(11, 23, 10),
        utc(11, 23, 11, 30),
    )


def test_london_paused_over_a_weekend() -> None:
    # Level 2, 8h. Thu 13:00-18:00 (5h) + Fri 09:00-10:00 (1h) = 6h; waiting from Fri 10:00
    # until the requester writes on Mon 11:00; 2h more -> Mon 13:00. Unpaused: Fri 12:00.
    assert due(LONDON, "level-2", utc(11, 19, 13)) == utc(11, 20, 12)
    paused = due(
        LONDON,
        "level-2",
        utc(11, 19, 13),
        (utc(11, 20, 10), "waiting_on_requester"),
        (utc(11, 23, 11), "requester_message"),
    )
    assert paused == utc(11, 23, 13)


# -- Critical-Low: 2h, 4h, 2d, 5d of Mon-Fri 06:00-18:00 Berlin (day = 12h), no holidays -----
# Berlin is CET (UTC+1) in winter and CEST (UTC+2) from 29 March to 25 October 2026.

BERLIN_CASES = [
    # Fri 16:00 UTC = 17:00 CET: 1h to 18:00 CET; Mon 06:00 CET = 05:00 UTC + 3h.
    pytest.param("high", utc(11, 20, 16), utc(11, 23, 8), id="fri-evening-high"),
    # Fri 19:00 UTC, closed: Mon 05:00 UTC + 2h.
    pytest.param("critical", utc(11, 20, 19), utc(11, 23, 7), id="fri-evening-critical"),
    # 2d = 24h: 1h Fri + Mon 12h (05:00-17:00 UTC) + Tue 05:00-16:00 UTC (11h).
    pytest.param("medium", utc(11, 20, 16), utc(11, 24, 16), id="fri-evening-medium"),
    # 5d = 60h: 1h Fri + Mon-Thu 4 x 12h + Fri 27 05:00-16:00 UTC (11h).
    pytest.param("low", utc(11, 20, 16), utc(11, 27, 16), id="fri-evening-low"),
    # No holidays in these terms: Christmas Eve 17:00 CET (1h) runs on into Christmas Day,
    # Fri 25 Dec 06:00-07:00 CET = 05:00-06:00 UTC.
    pytest.param("critical", utc(12, 24, 16), utc(12, 25, 6), id="christmas-is-open"),
    # Nor is Easter Monday closed: 10:00 CEST (08:00 UTC) + 4h.
    pytest.param("high", utc(4, 6, 8), utc(4, 6, 12), id="easter-monday-is-open"),
    # Fri 27 Mar 16:00 UTC = 17:00 CET: 1h; Mon 30 06:00 CEST = 04:00 UTC + 3h.
    pytest.param("high", utc(3, 27, 16), utc(3, 30, 7), id="dst-march-weekend"),
    # 24h the same weekend: 1h Fri + Mon 04:00-16:00 UTC (12h) + Tue 04:00-15:00 UTC (11h).
    pytest.param("medium", utc(3, 27, 16), utc(3, 31, 15), id="dst-march-weekend-medium"),
    # Sun 29 Mar 01:30 UTC = 03:30 CEST: Mon 04:00 UTC + 4h.
    pytest.param("high", utc(3, 29, 1, 30), utc(3, 30, 8), id="dst-march-night"),
    # Fri 23 Oct 15:00 UTC = 17:00 CEST: 1h to 16:00 UTC; Mon 26 06:00 CET = 05:00 UTC + 3h.
    pytest.param("high", utc(10, 23, 15), utc(10, 26, 8), id="dst-october-weekend"),
    # Sun 25 Oct 00:30 UTC = 02:30 CEST, before the change: Mon 05:00 UTC + 4h.
    pytest.param("high", utc(10, 25, 0, 30), utc(10, 26, 9), id="dst-october-night"),
]


@pytest.mark.parametrize(("severity", "opened", "expected"), BERLIN_CASES)
def test_berlin_business_hours_policy(severity: str, opened: datetime, expected: datetime) -> None:
    assert due(BERLIN, severity, opened) == expected


def test_berlin_reminders() -> None:
    # High from Fri 16:00 UTC: "50%" = 2h -> 1h Fri + Mon 05:00-06:00 UTC;
    # "30m before" = 3h30m -> 1h Fri + Mon 05:00-07:30 UTC.
    assert first_response(BERLIN, "high", utc(11, 20, 16))[1] == (
        utc(11, 23, 6),
        utc(11, 23, 7, 30),
    )


def test_berlin_next_response() -> None:
    # Critical, opened Mon 08:00 UTC, answered 08:30. The requester writes at 16:30 UTC
    # (17:30 CET): 30m to 18:00 CET, then Tue 05:00-06:30 UTC (1h30m) = 2h.
    events = [
        ClockEvent(utc(11, 23, 8), "opened", "critical"),
        ClockEvent(utc(11, 23, 8, 30), "responder_reply"),
        ClockEvent(utc(11, 23, 16, 30), "requester_message"),
    ]
    first, nxt, _, update = deadlines(policy(BERLIN), events, utc(11, 23, 16, 30))
    assert (first.due_at, first.met_at) == (utc(11, 23, 10), utc(11, 23, 8, 30))
    assert (nxt.kind, nxt.started_at, nxt.due_at) == (
        "next_response",
        utc(11, 23, 16, 30),
        utc(11, 24, 6, 30),
    )
    # The update cadence (2 open hours) from the reply at 08:30 UTC: 10:30 UTC, unmet.
    assert (update.kind, update.started_at, update.due_at, update.met_at) == (
        "update_every",
        utc(11, 23, 8, 30),
        utc(11, 23, 10, 30),
        None,
    )


def test_berlin_workaround_lowers_and_moves_the_due_time() -> None:
    # Critical opened Mon 08:00 UTC (due 10:00); lowered to High at 09:00: 08:00 + 4h.
    events = [
        ClockEvent(utc(11, 23, 8), "opened", "critical"),
        ClockEvent(utc(11, 23, 9), "severity_changed", "high"),
    ]
    assert deadlines(policy(BERLIN), events, utc(11, 23, 9))[0].due_at == utc(11, 23, 12)


def test_berlin_paused_over_a_weekend() -> None:
    # Medium, 24h, opened Thu 11:00 UTC = 12:00 CET. Unpaused: Thu 11:00-17:00 UTC (6h) +
    # Fri 05:00-17:00 UTC (12h) + Mon 05:00-11:00 UTC (6h).
    assert due(BERLIN, "medium", utc(11, 19, 11)) == utc(11, 23, 11)
    # Waiting from Fri 07:00 UTC, after Thu 6h + Fri 05:00-07:00 (2h) = 8h, until the
    # requester writes Mon 08:00 UTC: Mon 08:00-17:00 UTC (9h) + Tue 05:00-12:00 UTC (7h).
    paused = due(
        BERLIN,
        "medium",
        utc(11, 19, 11),
        (utc(11, 20, 7), "waiting_on_requester"),
        (utc(11, 23, 8), "requester_message"),
    )
    assert paused == utc(11, 24, 12)


# -- Tiers: Tier 1 15m 24/7; Tiers 2 and 3 2h of Mon-Fri 09:00-17:00 UTC, no holidays -------

TIERS_CASES = [
    # Fri 16:30: 30m Fri + Mon 09:00-10:30 (1h30m).
    pytest.param("tier-2", utc(11, 20, 16, 30), utc(11, 23, 10, 30), id="fri-evening-tier-2"),
    # Fri 18:00, closed: Mon 09:00 + 2h.
    pytest.param("tier-3", utc(11, 20, 18), utc(11, 23, 11), id="fri-evening-tier-3"),
    # Tier 1 around the clock: 20:00 + 15m.
    pytest.param("tier-1", utc(11, 20, 20), utc(11, 20, 20, 15), id="fri-evening-tier-1"),
    # No holidays: Christmas Day 09:00 + 2h.
    pytest.param("tier-3", utc(12, 25, 9), utc(12, 25, 11), id="christmas-is-open"),
    # Boxing Day observed, Mon 16:00: 1h Mon + Tue 09:00-10:00.
    pytest.param("tier-2", utc(12, 28, 16), utc(12, 29, 10), id="boxing-day-observed-is-open"),
    # UTC does not change clocks: Fri 16:00 (1h) + Mon 09:00-10:00 UTC on both weekends.
    pytest.param("tier-2", utc(3, 27, 16), utc(3, 30, 10), id="dst-march-weekend"),
    pytest.param("tier-2", utc(10, 23, 16), utc(10, 26, 10), id="dst-october-weekend"),
    # The nights themselves: closed until Mon 09:00 UTC, + 2h.
    pytest.param("tier-2", utc(3, 29, 1, 30), utc(3, 30, 11), id="dst-march-night"),
    pytest.param("tier-3", utc(10, 25, 0, 30), utc(10, 26, 11), id="dst-october-night"),
    # Tier 1 across the change at 01:00 UTC: 00:55 + 15m of real time.
    pytest.param("tier-1", utc(3, 29, 0, 55), utc(3, 29, 1, 10), id="dst-march-night-tier-1"),
    pytest.param("tier-1", utc(10, 25, 0, 55), utc(10, 25, 1, 10), id="dst-october-night-tier-1"),
]


@pytest.mark.parametrize(("severity", "opened", "expected"), TIERS_CASES)
def test_tiers_policy(severity: str, opened: datetime, expected: datetime) -> None:
    assert due(TIERS, severity, opened) == expected


def test_tiers_reminders() -> None:
    # Tier 2 from Fri 16:30: "50%" = 1h -> 30m Fri + Mon 09:00-09:30;
    # "15m before" = 1h45m -> 30m Fri + Mon 09:00-10:15.
    assert first_response(TIERS, "tier-2", utc(11, 20, 16, 30))[1] == (
        utc(11, 23, 9, 30),
        utc(11, 23, 10, 15),
    )
    # Tier 1 "5m before" = 10m: 20:10.
    assert first_response(TIERS, "tier-1", utc(11, 20, 20))[1] == (utc(11, 20, 20, 10),)


def test_tiers_paused_over_a_weekend() -> None:
    # Tier 3, 2h. Fri 16:00-16:30 (30m), waiting until Mon 10:00, 1h30m more -> Mon 11:30.
    # Unpaused: 1h Fri + Mon 09:00-10:00.
    assert due(TIERS, "tier-3", utc(11, 20, 16)) == utc(11, 23, 10)
    paused = due(
        TIERS,
        "tier-3",
        utc(11, 20, 16),
        (utc(11, 20, 16, 30), "waiting_on_requester"),
        (utc(11, 23, 10), "resumed"),
    )
    assert paused == utc(11, 23, 11, 30)
