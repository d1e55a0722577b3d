"""A case's clocks from its timeline, and the timers they book: recomputed after every
change, so the timers always match the case as it is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Case, CaseEvent, Timer
from bot.db.states import SLA_TIMER_KINDS, CaseEventKind, TimerKind, TimerStatus
from bot.policies.policy import Policy
from bot.sla import clocks

Follower = Callable[[Session, Policy, Case, datetime], None]
# What else follows a case's severity and status each time its timers are redone. Paging
# registers here (bot.oncall.paging): it sits above cases, so cases never import it.
_FOLLOWERS: list[Follower] = []


def follow_changes(follower: Follower) -> Follower:
    """Call `follower` in the same transaction whenever a case's timers are redone."""
    if follower not in _FOLLOWERS:
        _FOLLOWERS.append(follower)
    return follower


# The timeline kinds that move SLA clocks carry the clocks module's own names.
_CLOCK_KINDS = frozenset(get_args(clocks.EventKind))


def clock_events(session: Session, case: Case) -> list[clocks.ClockEvent]:
    # In time order: an event may carry Slack's instant, earlier than one recorded before it.
    rows = session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    ).scalars()
    events = []
    for row in rows:
        if row.kind not in _CLOCK_KINDS:
            continue
        severity = (
            row.data.get("severity") if row.kind == CaseEventKind.OPENED else row.data.get("new")
        )
        events.append(clocks.ClockEvent(at=row.at, kind=row.kind, severity=severity))  # type: ignore[arg-type]
    return events


def current_deadlines(
    session: Session, policy: Policy, case: Case, now: datetime
) -> list[clocks.Deadline]:
    """The case's clocks at `now`, from its timeline: the one arithmetic the bot, its timers
    and `policy simulate` share."""
    session.flush()
    return clocks.deadlines(policy, clock_events(session, case), now)


def reschedule(session: Session, policy: Policy, case: Case, now: datetime) -> None:
    """Recompute the case's clocks from its timeline and make its pending timers match.
    Timers that fired or were dropped stay as they are, so nothing is announced twice, and
    a clock whose breach was announced gets no second one."""
    session.flush()
    events = clock_events(session, case)
    found = clocks.deadlines(policy, events, now)
    first = next((d for d in found if d.kind == "first_response"), None)
    case.first_response_due = first.due_at if first else None
    # The card shows a next-response clock while one runs (unanswered, not paused).
    running = [d for d in found if d.kind == "next_response" and d.met_at is None and d.due_at]
    case.next_response_due = running[-1].due_at if running else None
    # And the next update while the cadence runs (a responder has answered, not paused).
    cadence = [d for d in found if d.kind == "update_every" and d.met_at is None and d.due_at]
    case.next_update_due = cadence[-1].due_at if cadence and not cadence[-1].paused else None
    # The SLA timers only: other kinds (auto-resolve, pages) are kept by their own owners.
    existing = list(
        session.execute(
            select(Timer).where(Timer.case_id == case.id, Timer.kind.in_(SLA_TIMER_KINDS))
        ).scalars()
    )
    announced = {
        (t.target or "", t.clock_start or case.opened_at)
        for t in existing
        if t.kind == TimerKind.BREACH and t.status == TimerStatus.FIRED
    }
    done = {
        (t.target, t.kind, t.due_at)
        for t in existing
        if t.status in (TimerStatus.FIRED, TimerStatus.DROPPED)
    }
    wanted = {
        (p.target, p.what, p.fire_at): p
        for p in clocks.planned_timers(policy, events, now, announced)
    }
    for key in done:
        wanted.pop(key, None)  # type: ignore[arg-type]
    for timer in existing:
        key = (timer.target, timer.kind, timer.due_at)
        plan = wanted.get(key)  # type: ignore[arg-type]
        if timer.status == TimerStatus.PENDING and plan is None:
            timer.status = TimerStatus.CANCELLED
        elif timer.status in (TimerStatus.PENDING, TimerStatus.CANCELLED) and plan is not None:
            timer.status = TimerStatus.PENDING
            timer.clock_start, timer.target_due_at = plan.clock_start, plan.due_at
    have = {(t.target, t.kind, t.due_at) for t in existing}
    for key, plan in sorted(wanted.items(), key=lambda kv: kv[1].fire_at):
        if key in have:
            continue
        session.add(
            Timer(
                case_id=case.id,
                kind=plan.what,
                target=plan.target,
                clock_start=plan.clock_start,
                target_due_at=plan.due_at,
                due_at=plan.fire_at,
                status=TimerStatus.PENDING,
            )
        )
    for follow in _FOLLOWERS:
        follow(session, policy, case, now)
