"""The SLA clocks of a case, checked against instants worked out by hand.

The policy below has one 24/7 severity and two on an office calendar of Mon-Fri 09:00-17:00
UTC, so every expected instant can be read off a wall clock. 2026-03-02 is a Monday.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.policies.policy import Policy
from bot.sla.clocks import ClockEvent, Deadline, breached, deadlines, planned_timers

H = timedelta(hours=1)

POLICY = Policy.model_validate(
    {
        "id": "clock-tests",
        "name": "Clock tests",
        "default": True,
        "calendars": {
            "office": {
                "timezone": "UTC",
                "windows": [{"days": ["mon-fri"], "from": "09:00", "to": "17:00"}],
                "business_day": "8h",
            }
        },
        "severities": [
            {
                "id": "sev1",
                "name": "SEV 1",
                "calendar": "24/7",
                "targets": {"first_response": "1h", "next_response": "1h", "resolution": "4h"},
                "reminders": ["50%", "15m before"],
            },
            {
                "id": "sev2",
                "name": "SEV 2",
                "calendar": "office",
                "targets": {"first_response": "4h", "next_response": "8h"},
                "reminders": ["50%", "1h before"],
            },
            {
                "id": "sev3",
                "name": "SEV 3",
                "calendar": "office",
                "targets": {"first_response": "2d"},
                "reminders": ["2h before"],
            },
        ],
    }
)


def due_timers(
    policy: Policy,
    events: Sequence[ClockEvent],
    now: datetime,
    recorded: Collection[tuple[str, datetime]] = (),
) -> list[tuple[str, datetime, str]]:
    """The timers the running bot books (`planned_timers`) as (kind, instant, reason), less
    those already stored or fired."""
    return [
        (f"{t.target}:{t.what}", t.fire_at, t.reason)
        for t in planned_timers(policy, events, now)
        if (f"{t.target}:{t.what}", t.fire_at) not in recorded
    ]


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ev(when: datetime, kind: str, severity: str | None = None) -> ClockEvent:
    return ClockEvent(when, kind, severity)  # type: ignore[arg-type]


def clocks(events: list[ClockEvent], now: datetime) -> dict[str, Deadline]:
    """The deadlines keyed by kind; next responses numbered next_response[0], [1], ..."""
    out: dict[str, Deadline] = {}
    n = 0
    for d in deadlines(POLICY, events, now):
        if d.kind == "next_response":
            out[f"next_response[{n}]"] = d
            n += 1
        else:
            out[d.kind] = d
    return out


def timers(
    events: list[ClockEvent], now: datetime, recorded: frozenset[tuple[str, datetime]] = frozenset()
) -> list[tuple[str, datetime]]:
    return [(kind, when) for kind, when, _ in due_timers(POLICY, events, now, recorded)]


# -- first response ----------------------------------------------------------------------


def test_sev1_around_the_clock() -> None:
    events = [ev(at(2, 10), "opened", "SEV-1")]
    c = clocks(events, at(2, 10, 10))
    assert list(c) == ["first_response", "resolution"]
    first = c["first_response"]
    assert first.severity == "sev1"  # found by name, stored by id
    assert first.started_at == at(2, 10)
    assert first.target == H
    assert first.due_at == at(2, 11)  # 10:00 + 1h of 24/7 time
    # 50% of 1h = 30m -> 10:30; "15m before" = 45m -> 10:45
    assert first.reminders == (at(2, 10, 30), at(2, 10, 45))
    assert first.met_at is None and first.pauses == () and not first.paused
    # resolution 4h: due 14:00; 50% = 2h -> 12:00; 15m before = 3h45m -> 13:45
    assert c["resolution"].due_at == at(2, 14)
    assert c["resolution"].reminders == (at(2, 12), at(2, 13, 45))
    assert not breached(first, at(2, 10, 59))
    assert breached(first, at(2, 11))


def test_opening_without_severity_uses_the_least_urgent() -> None:
    c = clocks([ev(at(2, 10), "opened")], at(2, 10))
    assert c["first_response"].severity == "sev3"


def test_business_hours_from_friday_afternoon() -> None:
    c = clocks([ev(at(6, 15), "opened", "sev2")], at(6, 15))
    first = c["first_response"]
    # 4h: Fri 15:00-17:00 (2h) + Mon 09:00-11:00 (2h)
    assert first.due_at == at(9, 11)
    # 50% = 2h runs out exactly at Friday's closing time, which is when it fires;
    # "1h before" = 3h: Fri 2h + Mon 09:00-10:00
    assert first.reminders == (at(6, 17), at(9, 10))
    assert c["resolution"].target is None and c["resolution"].due_at is None


def test_days_are_business_days() -> None:
    c = clocks([ev(at(4, 13), "opened", "sev3")], at(4, 13))
    first = c["first_response"]
    assert first.target == 16 * H  # 2d of 8h
    # Wed 13:00-17:00 (4h) + Thu 09:00-17:00 (8h) + Fri 09:00-13:00 (4h)
    assert first.due_at == at(6, 13)
    # "2h before" = 14h: Wed 4h + Thu 8h + Fri 09:00-11:00
    assert first.reminders == (at(6, 11),)


def test_reply_before_due_meets_the_target() -> None:
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 10, 40), "responder_reply")]
    first = clocks(events, at(2, 12))["first_response"]
    assert first.met_at == at(2, 10, 40)
    assert first.due_at == at(2, 11)
    assert first.reminders == (at(2, 10, 30),)  # the 10:45 one never fired
    assert not breached(first, at(2, 12))
    # Only the resolution clock still has timers; a reminder due exactly now is kept.
    assert timers(events, at(2, 12)) == [
        ("resolution:reminder", at(2, 12)),
        ("resolution:reminder", at(2, 13, 45)),
        ("resolution:breach", at(2, 14)),
    ]


def test_late_reply_is_a_breach_to_record() -> None:
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 11, 20), "responder_reply")]
    first = clocks(events, at(2, 11, 30))["first_response"]
    assert first.met_at == at(2, 11, 20)
    assert breached(first, at(2, 11, 30))
    (breach, *rest) = due_timers(POLICY, events, at(2, 11, 30))
    assert breach == (
        "first_response:breach",
        at(2, 11),
        "first response (sev1, 1h) was due 2026-03-02 11:00 UTC, answered 2026-03-02 11:20 UTC",
    )
    assert [kind for kind, _, _ in rest] == ["resolution:reminder"] * 2 + ["resolution:breach"]
    recorded = frozenset({("first_response:breach", at(2, 11))})
    assert ("first_response:breach", at(2, 11)) not in timers(
        events, at(2, 11, 30), recorded=recorded
    )


def test_reply_at_the_due_instant_is_late() -> None:
    # due_at is when the whole hour has been used up without an answer.
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 11), "responder_reply")]
    assert breached(clocks(events, at(2, 11))["first_response"], at(2, 11))


# -- next response -----------------------------------------------------------------------


def test_requester_messages_before_the_first_reply_start_no_next_response() -> None:
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 10), "requester_message"),
        ev(at(2, 10, 20), "requester_message"),
        ev(at(2, 10, 30), "responder_reply"),
    ]
    c = clocks(events, at(2, 10, 30))
    assert list(c) == ["first_response", "resolution"]
    assert c["first_response"].met_at == at(2, 10, 30)


def test_requester_message_after_the_first_reply_starts_next_response() -> None:
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 20), "responder_reply"),
        ev(at(2, 12), "requester_message"),
    ]
    nxt = clocks(events, at(2, 12, 10))["next_response[0]"]
    assert nxt.started_at == at(2, 12)
    assert nxt.due_at == at(2, 13)  # 12:00 + 1h
    assert nxt.reminders == (at(2, 12, 30), at(2, 12, 45))
    assert timers(events, at(2, 12, 10))[:3] == [
        ("next_response:reminder", at(2, 12, 30)),
        ("next_response:reminder", at(2, 12, 45)),
        ("next_response:breach", at(2, 13)),
    ]
    answered = clocks([*events, ev(at(2, 12, 40), "responder_reply")], at(2, 12, 50))
    assert answered["next_response[0]"].met_at == at(2, 12, 40)
    assert not breached(answered["next_response[0]"], at(2, 13))


def test_next_response_counts_from_the_oldest_unanswered_message() -> None:
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 20), "responder_reply"),
        ev(at(2, 12), "requester_message"),
        ev(at(2, 12, 40), "requester_message"),  # the clock keeps running from 12:00
        ev(at(2, 13, 10), "responder_reply"),
        ev(at(2, 14), "requester_message"),  # a new clock
    ]
    c = clocks(events, at(2, 14, 5))
    assert list(c) == ["first_response", "next_response[0]", "next_response[1]", "resolution"]
    old, new = c["next_response[0]"], c["next_response[1]"]
    assert (old.started_at, old.due_at, old.met_at) == (at(2, 12), at(2, 13), at(2, 13, 10))
    assert breached(old, at(2, 14, 5))  # answered 10 minutes late
    assert (new.started_at, new.due_at, new.met_at) == (at(2, 14), at(2, 15), None)
    assert not breached(new, at(2, 14, 5))
    assert c["resolution"].due_at == at(2, 14)  # 10:00 + 4h, so missed by 14:05
    assert breached(c["resolution"], at(2, 14, 5))


# -- pauses ------------------------------------------------------------------------------


def test_waiting_on_requester_over_a_weekend_around_the_clock() -> None:
    events = [
        ev(at(6, 16), "opened", "sev1"),  # Friday
        ev(at(6, 16, 20), "waiting_on_requester"),
        ev(at(9, 9), "requester_message"),  # Monday: resumes
    ]
    c = clocks(events, at(9, 9, 5))
    first = c["first_response"]
    assert first.pauses == ((at(6, 16, 20), at(9, 9)),)
    # 20m counted on Friday, the other 40m from Monday 09:00 (not Friday 17:00)
    assert first.due_at == at(9, 9, 40)
    # 50% = 30m: 20m Fri + 10m Mon; 15m before = 45m: 20m Fri + 25m Mon
    assert first.reminders == (at(9, 9, 10), at(9, 9, 25))
    # resolution 4h: 20m Fri + 3h40m from Mon 09:00
    assert c["resolution"].due_at == at(9, 12, 40)


def test_waiting_on_requester_over_a_weekend_in_business_hours() -> None:
    events = [
        ev(at(6, 14), "opened", "sev2"),  # Friday
        ev(at(6, 15), "waiting_on_requester"),
        ev(at(10, 10), "resumed"),  # Tuesday
    ]
    first = clocks(events, at(10, 10, 30))["first_response"]
    # 4h: Fri 14:00-15:00 (1h), paused until Tue 10:00, then 3h -> Tue 13:00.
    # Unpaused it would have been due Mon 11:00.
    assert first.due_at == at(10, 13)
    # 50% = 2h: 1h Fri + Tue 10:00-11:00; 1h before = 3h: 1h Fri + Tue 10:00-12:00
    assert first.reminders == (at(10, 11), at(10, 12))


def test_a_clock_waiting_at_now_is_paused_and_has_no_future_timers() -> None:
    events = [ev(at(6, 14), "opened", "sev2"), ev(at(6, 15), "waiting_on_requester")]
    first = clocks(events, at(9, 12))["first_response"]
    assert first.paused
    assert first.pauses == ((at(6, 15), at(9, 12)),)
    # Due if the requester answered now: 1h Fri + 3h from Mon 12:00.
    assert first.due_at == at(9, 15)
    assert not breached(first, at(9, 12))
    assert timers(events, at(9, 12)) == []


def test_a_breach_before_the_pause_stays_a_breach() -> None:
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 11, 30), "waiting_on_requester")]
    c = clocks(events, at(2, 12))
    assert c["first_response"].due_at == at(2, 11)
    assert breached(c["first_response"], at(2, 12))
    # resolution: 1h30m counted before the pause, 2h30m left if resumed at 12:00
    assert c["resolution"].paused and c["resolution"].due_at == at(2, 14, 30)
    assert timers(events, at(2, 12)) == [("first_response:breach", at(2, 11))]


def test_a_requester_message_resumes_and_starts_next_response() -> None:
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 20), "responder_reply"),
        ev(at(2, 10, 20), "waiting_on_requester"),
        ev(at(2, 12), "requester_message"),
    ]
    c = clocks(events, at(2, 12))
    assert c["next_response[0]"].pauses == ()  # the pause ended as this clock started
    assert c["next_response[0]"].due_at == at(2, 13)
    # resolution: 10:00-10:20 (20m), paused 10:20-12:00, then 3h40m -> 15:40
    assert c["resolution"].pauses == ((at(2, 10, 20), at(2, 12)),)
    assert c["resolution"].due_at == at(2, 15, 40)


# -- severity changes --------------------------------------------------------------------


def test_raising_severity_past_the_new_due_time_breaches_at_once() -> None:
    opened = ev(at(2, 9), "opened", "sev2")  # Monday
    before = clocks([opened], at(2, 10, 59))["first_response"]
    assert before.due_at == at(2, 13)  # 4h of office time
    events = [opened, ev(at(2, 11), "severity_changed", "sev1")]
    c = clocks(events, at(2, 11))
    first = c["first_response"]
    assert (first.severity, first.due_at) == ("sev1", at(2, 10))  # 09:00 + 1h, from opening
    assert breached(first, at(2, 11))
    # sev1 brings a resolution target: 09:00 + 4h = 13:00; 50% = 11:00; 15m before = 12:45
    assert c["resolution"].due_at == at(2, 13)
    assert timers(events, at(2, 11)) == [
        ("first_response:breach", at(2, 10)),
        ("resolution:reminder", at(2, 11)),
        ("resolution:reminder", at(2, 12, 45)),
        ("resolution:breach", at(2, 13)),
    ]


def test_raising_severity_before_the_new_due_time() -> None:
    events = [ev(at(2, 9), "opened", "sev2"), ev(at(2, 9, 20), "severity_changed", "sev1")]
    first = clocks(events, at(2, 9, 20))["first_response"]
    assert first.due_at == at(2, 10)
    assert first.reminders == (at(2, 9, 30), at(2, 9, 45))
    assert not breached(first, at(2, 9, 20))


def test_lowering_severity_moves_the_due_time_onto_the_calendar() -> None:
    events = [ev(at(2, 16), "opened", "sev1"), ev(at(2, 16, 30), "severity_changed", "sev2")]
    c = clocks(events, at(2, 17, 30))
    first = c["first_response"]
    # was 17:00 (24/7); now 4h of office time from 16:00: Mon 16-17 (1h) + Tue 09-12 (3h)
    assert first.due_at == at(3, 12)
    # 50% = 2h: 1h Mon + Tue 09-10; 1h before = 3h: 1h Mon + Tue 09-11
    assert first.reminders == (at(3, 10), at(3, 11))
    assert not breached(first, at(2, 17, 30))
    assert c["resolution"].due_at is None  # sev2 has no resolution target


def test_a_severity_change_does_not_rejudge_an_answered_clock() -> None:
    events = [
        ev(at(2, 9), "opened", "sev2"),
        ev(at(2, 12), "responder_reply"),
        ev(at(2, 13, 30), "severity_changed", "sev1"),
    ]
    c = clocks(events, at(2, 13, 30))
    first = c["first_response"]
    assert (first.severity, first.due_at, first.met_at) == ("sev2", at(2, 13), at(2, 12))
    assert not breached(first, at(2, 13, 30))
    # the resolution clock still runs, so it moves to sev1: 09:00 + 4h, already past
    assert (c["resolution"].severity, c["resolution"].due_at) == ("sev1", at(2, 13))
    assert breached(c["resolution"], at(2, 13, 30))


def test_a_severity_change_recomputes_next_response_from_its_start() -> None:
    events = [
        ev(at(2, 9), "opened", "sev2"),
        ev(at(2, 9, 30), "responder_reply"),
        ev(at(2, 10), "requester_message"),
    ]
    # sev2 next response 8h of office time: Mon 10-17 (7h) + Tue 09-10 (1h)
    assert clocks(events, at(2, 10, 10))["next_response[0]"].due_at == at(3, 10)
    events.append(ev(at(2, 10, 20), "severity_changed", "sev1"))
    c = clocks(events, at(2, 10, 20))
    assert c["next_response[0]"].due_at == at(2, 11)  # 10:00 + 1h
    assert c["first_response"].severity == "sev2"  # answered at 09:30 under sev2


# -- resolution and history --------------------------------------------------------------


def test_resolution_stops_every_clock() -> None:
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 30), "responder_reply"),
        ev(at(2, 12), "resolved"),
        ev(at(2, 12, 30), "requester_message"),  # a thank-you after the case closed
    ]
    c = clocks(events, at(2, 13))
    assert list(c) == ["first_response", "resolution"]
    assert (c["resolution"].due_at, c["resolution"].met_at) == (at(2, 14), at(2, 12))
    assert not breached(c["resolution"], at(2, 13))
    assert timers(events, at(2, 13)) == []


def test_resolving_without_a_reply_answers_late() -> None:
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 11, 30), "resolved")]
    c = clocks(events, at(2, 12))
    assert c["first_response"].met_at == at(2, 11, 30)
    assert breached(c["first_response"], at(2, 12))  # due 11:00
    assert timers(events, at(2, 12)) == [("first_response:breach", at(2, 11))]


def test_events_after_now_are_not_yet_history() -> None:
    events = [ev(at(2, 10), "opened", "sev1"), ev(at(2, 10, 30), "responder_reply")]
    assert clocks(events, at(2, 10, 15))["first_response"].met_at is None


def test_due_timers_for_a_new_case() -> None:
    events = [ev(at(2, 10), "opened", "sev1")]
    found = due_timers(POLICY, events, at(2, 10, 35))
    assert [(kind, when) for kind, when, _ in found] == [
        # the 10:30 reminder is behind us
        ("first_response:reminder", at(2, 10, 45)),
        ("first_response:breach", at(2, 11)),
        ("resolution:reminder", at(2, 12)),
        ("resolution:reminder", at(2, 13, 45)),
        ("resolution:breach", at(2, 14)),
    ]
    assert found[0][2] == "first response (sev1, 1h) due 2026-03-02 11:00 UTC, 15m left"
    assert found[1][2] == "first response (sev1, 1h) due 2026-03-02 11:00 UTC"


def test_results_are_in_utc() -> None:
    berlin = datetime(2026, 3, 2, 11, tzinfo=ZoneInfo("Europe/Berlin"))  # 10:00 UTC
    first = deadlines(POLICY, [ev(berlin, "opened", "sev1")], berlin)[0]
    assert first.started_at.tzinfo is UTC and first.started_at == at(2, 10)
    assert first.due_at is not None and first.due_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("events", "now", "message"),
    [
        ([], at(2, 10), "must start with its 'opened' event"),
        ([ev(at(2, 10), "requester_message")], at(2, 10), "must start with its 'opened'"),
        ([ev(datetime(2026, 3, 2, 10), "opened", "sev1")], at(2, 10), "timezone-aware"),
        ([ev(at(2, 10), "opened", "sev1")], datetime(2026, 3, 2, 10), "timezone-aware"),
        ([ev(at(2, 10), "opened", "sev9")], at(2, 10), "no severity 'sev9'"),
        (
            [ev(at(2, 10), "opened", "sev1"), ev(at(2, 9), "responder_reply")],
            at(2, 10),
            "earlier than the one before",
        ),
        (
            [ev(at(2, 10), "opened", "sev1"), ev(at(2, 10), "opened", "sev1")],
            at(2, 10),
            "a case opens once",
        ),
        (
            [ev(at(2, 10), "opened", "sev1"), ev(at(2, 10), "severity_changed")],
            at(2, 10),
            "needs the new severity",
        ),
        ([ev(at(2, 10), "opened", "sev1"), ev(at(2, 10), "escalated")], at(2, 10), "unknown"),
        ([ev(at(2, 10), "opened", "sev1")], at(2, 9), "after now"),
    ],
)
def test_bad_histories_are_refused(events: list[ClockEvent], now: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        deadlines(POLICY, events, now)


def test_reopening_starts_a_next_response_and_a_fresh_resolution_clock() -> None:
    # SEV1 around the clock: first response 1h, next response 1h, resolution 4h.
    events = [
        ev(at(2, 10), "opened", "sev1"),
        ev(at(2, 10, 10), "responder_reply"),
        ev(at(2, 11), "resolved"),
        ev(at(2, 11, 30), "responder_reply"),  # after resolving: moves nothing
        ev(at(2, 12), "reopened"),
    ]
    found = deadlines(POLICY, events, at(2, 12, 5))
    assert [(d.kind, d.started_at, d.due_at, d.met_at) for d in found] == [
        ("first_response", at(2, 10), at(2, 11), at(2, 10, 10)),
        ("next_response", at(2, 12), at(2, 13), None),
        ("resolution", at(2, 10), at(2, 14), at(2, 11)),
        ("resolution", at(2, 12), at(2, 16), None),
    ]
    # Reopening a case that is not resolved changes nothing.
    not_resolved = [*events[:2], ev(at(2, 12), "reopened")]
    assert deadlines(POLICY, not_resolved, at(2, 12, 5)) == deadlines(
        POLICY, events[:2], at(2, 12, 5)
    )
