"""`policy simulate` and the running bot's clocks agree: on random histories (opening,
severity changes, waits on the requester, resumes, requester messages), the first-response
due time the bot computes is the one `simulate` shows for the case's final severity, opened
at the same instant with the same pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policies import load_policies
from bot.sla.clocks import ClockEvent, deadlines
from bot.sla.simulate import simulate

SHIPPED = Path(__file__).resolve().parent.parent / "policies"
POLICIES = sorted(load_policies(SHIPPED), key=lambda p: p.id)

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


@settings(max_examples=300, deadline=None)
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
    expected = {t.kind: t.due for t in shown.targets}.get("first_response")
    assert first_response.due_at == expected
