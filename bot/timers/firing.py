"""Firing due timers. APScheduler only decides when to look; the timer rows decide what is
due. Due timers fire in due order. Claiming a timer is a conditional update, so two replicas
ticking at once fire it once, and what it causes (outbox rows, timeline) commits in the same
transaction as its new status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.planning import current_deadlines
from bot.cases.writes import record_about
from bot.clock import Clock
from bot.db.errors import is_transient_db
from bot.db.models import Case, Timer
from bot.db.ops import Busy, lock_unless_busy, rowcount
from bot.db.states import CaseEventKind, CaseStatus, TimerStatus
from bot.logs import describe
from bot.metrics import TIMER_LAG, TIMERS_PARKED
from bot.policies.policy import Policy
from bot.sla import clocks
from bot.timers import kinds  # noqa: F401  (registers the handlers of the timers about a case)
from bot.timers.registry import (
    CASELESS,
    HANDLERS,
    WITHOUT_CASE,
    Caseless,
    Firing,
    Setup,
    WithCase,
)

log = logging.getLogger(__name__)

# A timer whose firing failed for a reason that would recur: kept, visible, never retried.
PARKED = TimerStatus.PARKED

PolicyForCase = Callable[[Session, Case], Policy]
# How long a timer that can fire without its case (a page step) waits for the case's lock
# before firing from what its page keeps.
CASE_WAIT_SECONDS = 0.25
NO_SETUP = Setup()


def fire_due(
    sessions: sessionmaker[Session],
    clock: Clock,
    policy_for_case: PolicyForCase,
    setup: Setup = NO_SETUP,
    between: Callable[[], None] = lambda: None,
    on_lag: Callable[[float], None] = lambda _: None,
    only: Collection[str] | None = None,
) -> int:
    """Fire every timer due now (of the kinds in `only`, or all); returns how many acted (stale ones
    are dropped). `on_lag` hears how late the last timer of the pass fired, in seconds."""
    now = clock.now()
    which = _of_kinds(only)
    with sessions() as session:
        due = list(
            session.execute(
                select(Timer.id)
                .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now, *which)
                .order_by(Timer.due_at, Timer.id)
                .limit(200)
            ).scalars()
        )
    fired = 0
    for timer_id in due:
        between()
        try:
            with sessions.begin() as session:
                fired += _fire_one(session, timer_id, now, policy_for_case, setup, on_lag)
        except Exception as exc:
            if is_transient_db(exc):
                raise  # the database is away: the whole pass tries again later
            # One timer's fault (a policy snapshot that no longer loads, a case its policy
            # no longer fits) would recur on every pass and hold up every timer due after
            # it: it is set aside, saying why.
            _park(sessions, timer_id, exc)
    return fired


def _of_kinds(only: Collection[str] | None) -> list[ColumnElement[bool]]:
    return [Timer.kind.in_(sorted(only))] if only is not None else []


def next_due(
    sessions: sessionmaker[Session], only: Collection[str] | None = None
) -> datetime | None:
    """When the soonest pending timer (of the kinds in `only`, or any) falls due."""
    which = _of_kinds(only)
    with sessions() as session:
        return session.execute(
            select(func.min(Timer.due_at)).where(Timer.status == TimerStatus.PENDING, *which)
        ).scalar_one_or_none()


def _park(sessions: sessionmaker[Session], timer_id: int, exc: Exception) -> None:
    why = describe(exc, limit=400)
    with sessions.begin() as session:
        timer = session.get(Timer, timer_id)
        if timer is None or timer.status != TimerStatus.PENDING:
            return
        timer.status, timer.note = PARKED, why
        case = session.get(Case, timer.case_id) if timer.case_id is not None else None
        kind = timer.kind
    TIMERS_PARKED.labels(kind).inc()
    about = f"{kind} of {case.key}" if case is not None else kind
    log.error("timer %s (%s) parked: %s", timer_id, about, why)
    log.debug("timer %s failed", timer_id, exc_info=exc)


def _fire_one(
    session: Session,
    timer_id: int,
    now: datetime,
    policy_for_case: PolicyForCase,
    setup: Setup,
    on_lag: Callable[[float], None],
) -> int:
    claimed = rowcount(
        session.execute(
            update(Timer)
            .where(Timer.id == timer_id, Timer.status == TimerStatus.PENDING)
            .values(status=TimerStatus.FIRED, fired_at=now)
        )
    )
    if not claimed:
        return 0  # another replica has it
    timer = session.get(Timer, timer_id)
    if timer is None:
        return 0
    lag = max(0.0, (now - timer.due_at).total_seconds())
    TIMER_LAG.labels(timer.kind).observe(lag)
    on_lag(lag)
    if timer.case_id is None:
        fire = CASELESS.get(timer.kind)
        stale = (
            fire(Caseless(session, timer, now, setup))
            if fire is not None
            else f"no handler for timer kind {timer.kind!r}"
        )
        if stale is not None:
            timer.status, timer.note = TimerStatus.DROPPED, stale
        return int(stale is None)
    # Locked: a change to the case in another worker waits for this firing, and the other
    # way round.
    alone = WITHOUT_CASE.get(timer.kind)
    found = (
        session.get(Case, timer.case_id, with_for_update=True)
        if alone is None
        else lock_unless_busy(session, Case, timer.case_id, CASE_WAIT_SECONDS)
    )
    if isinstance(found, Busy) and alone is not None:
        # `cases` is locked (a migration, VACUUM FULL): a page does not wait for it.
        try:
            stale = alone(Caseless(session, timer, now, setup))
        except WithCase:
            found = session.get(Case, timer.case_id, with_for_update=True)
        else:
            if stale is not None:
                timer.status, timer.note = TimerStatus.DROPPED, stale
                _dropped(session, timer.case_id, timer, now, stale)
            return int(stale is None)
    case = found if isinstance(found, Case) else None
    if case is None:
        return 0
    if case.status == CaseStatus.RESOLVED:
        return _drop(session, case, timer, now, "the case is resolved")
    handler = HANDLERS.get(timer.kind)
    if handler is None or timer.target is None:
        return _drop(session, case, timer, now, f"no handler for timer kind {timer.kind!r}")
    policy = policy_for_case(session, case)
    deadlines = current_deadlines(session, policy, case, now)
    deadline = clocks.clock_of(deadlines, timer.target, timer.clock_start)
    stale = handler(Firing(session, case, timer, policy, now, deadline, setup.triage_channel))
    if stale is not None:
        return _drop(session, case, timer, now, stale)
    return 1


def _drop(session: Session, case: Case, timer: Timer, now: datetime, why: str) -> int:
    timer.status = TimerStatus.DROPPED
    timer.note = why
    _dropped(session, case.id, timer, now, why)
    return 0


def _dropped(session: Session, case_id: int, timer: Timer, now: datetime, why: str) -> None:
    record_about(
        session,
        case_id,
        now,
        "escalation-bot",
        CaseEventKind.TIMER_DROPPED,
        None,
        timer=timer.id,
        timer_kind=timer.kind,
        target=timer.target,
        why=why,
    )
