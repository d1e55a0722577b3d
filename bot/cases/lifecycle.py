"""Working a case: take, assign, wait on the requester, resume, resolve. Each change writes
the case, its timeline entry, its recomputed timers, a card update and one line in the case
thread, in the caller's transaction. Plain values in; no Slack I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.planning import current_deadlines, reschedule
from bot.cases.service import CaseError, set_severity
from bot.cases.writes import case_changed, notify, record
from bot.clock import Clock
from bot.db.models import Case, CaseEvent, Feedback, Timer
from bot.db.ops import insert_ignore
from bot.db.states import CaseEventKind, CaseStatus, TimerKind, TimerStatus
from bot.outbox import Intent
from bot.policies.policy import Policy

OPEN, WAITING, RESOLVED = CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.RESOLVED


def in_channel(session: Session, team_id: str, channel_id: str, number: int) -> Case | None:
    """A case by number, only if it belongs to this channel: a case elsewhere is not
    found, exactly like a number that does not exist."""
    return session.execute(
        select(Case).where(
            Case.team_id == team_id, Case.number == number, Case.channel_id == channel_id
        )
    ).scalar_one_or_none()


def by_number(session: Session, team_id: str, number: int) -> Case | None:
    """A case by number anywhere in the workspace: for pages, which reach people outside
    the case's channel. Callers decide who may act on it."""
    return session.execute(
        select(Case).where(Case.team_id == team_id, Case.number == number)
    ).scalar_one_or_none()


def unresolved_in_channel(session: Session, team_id: str, channel_id: str) -> list[Case]:
    return list(
        session.execute(
            select(Case)
            .where(
                Case.team_id == team_id,
                Case.channel_id == channel_id,
                Case.status.in_((OPEN, WAITING)),
            )
            .order_by(Case.number)
        ).scalars()
    )


def listed(session: Session, team_id: str, channel_id: str, everything: bool) -> list[Case]:
    query = select(Case).where(Case.team_id == team_id, Case.channel_id == channel_id)
    if not everything:
        query = query.where(Case.status.in_((OPEN, WAITING)))
    return list(session.execute(query.order_by(Case.number).limit(50)).scalars())


def _changed(
    session: Session,
    now: datetime,
    case: Case,
    actor: str,
    what: str,
    source: str | None,
    **data: str | None,
) -> None:
    case.updated_at = now
    case_changed(session, now, case)
    notify(
        session,
        now,
        case,
        Intent.CASE_CHANGED,
        thread_ts=case.thread_ts,
        actor=actor,
        what=what,
        source=source,
        **data,
    )


def _move(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    status: str,
    event: str,
    what: str,
    source: str | None,
    **data: str,
) -> datetime:
    """A change of status: the timeline entry `event`, recomputed clocks and timers, the
    card and the thread line `what`. Returns the instant of the change."""
    now = clock.now()
    case.status = status
    record(session, case, now, actor, event, source, **data)
    reschedule(session, policy, case, now)
    _changed(session, now, case, actor, what, source, **data)
    return now


def assign(
    session: Session,
    clock: Clock,
    case: Case,
    actor: str,
    assignee: str,
    source: str | None = None,
) -> bool:
    if case.status == RESOLVED:
        raise CaseError(f"{case.key} is resolved: reopen it first.")
    if case.assignee_id == assignee:
        return False
    now = clock.now()
    old = case.assignee_id
    case.assignee_id = assignee
    record(session, case, now, actor, CaseEventKind.ASSIGNED, source, old=old, new=assignee)
    _changed(session, now, case, actor, "assigned", source, old=old, new=assignee)
    return True


def wait(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    note: str = "",
    source: str | None = None,
) -> bool:
    if case.status == RESOLVED:
        raise CaseError(f"{case.key} is resolved.")
    if case.status == WAITING:
        return False
    now = _move(
        session,
        clock,
        policy,
        case,
        actor,
        WAITING,
        CaseEventKind.WAITING_ON_REQUESTER,
        "waiting",
        source,
        note=note,
    )
    if policy.auto_resolve_after is not None:
        after = policy.auto_resolve_after.to_timedelta(timedelta(days=1))
        session.add(
            Timer(
                case_id=case.id,
                kind=TimerKind.AUTO_RESOLVE,
                target="waiting",
                clock_start=now,  # the wait it belongs to: a later wait makes it stale
                target_due_at=now + after,
                due_at=now + after,
                status=TimerStatus.PENDING,
            )
        )
    return True


def resume(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    source: str | None = None,
) -> bool:
    if case.status != WAITING:
        return False
    _move(session, clock, policy, case, actor, OPEN, CaseEventKind.RESUMED, "resumed", source)
    return True


def reopen(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    source: str | None = None,
) -> bool:
    """A resolved case is open again: its clocks restart as `bot.sla.clocks` says (a
    next-response clock and a resolution clock from now)."""
    if case.status != RESOLVED:
        return False
    _move(session, clock, policy, case, actor, OPEN, CaseEventKind.REOPENED, "reopened", source)
    return True


def workaround(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    note: str = "",
    source: str | None = None,
) -> str:
    """Apply the policy's workaround rule: lower the severity by its `lower_by` levels.
    Returns the new severity id."""
    if case.status == RESOLVED:
        raise CaseError(f"{case.key} is resolved.")
    if policy.workaround_rule(case.severity) is None:
        raise CaseError(f"The policy of {case.key} has no workaround rule for its severity.")
    lowered = policy.on_workaround(case.severity).id
    if lowered == case.severity:
        raise CaseError(f"{case.key} is already at the least urgent severity.")
    record(session, case, clock.now(), actor, CaseEventKind.WORKAROUND, source, note=note)
    reason = f"workaround: {note}" if note else "workaround"
    set_severity(session, clock, policy, case, lowered, actor, source, reason)
    return lowered


def add_details(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    answers: dict[str, str],
    source: str | None = None,
) -> bool:
    """Keep the answers to the case's intake form, by field id, from whoever
    `bot.cases.permissions.may_add_details` allows. A required field left empty is
    refused; fields the form does not have are ignored. Giving details is no response: no
    clock moves. Returns False when nothing changed."""
    intake = policy.intake_for(case.severity) or policy.intake
    fields = intake.fields if intake else ()
    if not fields:
        raise CaseError(f"{case.key} asks for no details.")
    given = {f.id: answers.get(f.id, "").strip() for f in fields}
    missing = [f.label for f in fields if f.required and not given[f.id]]
    if missing:
        raise CaseError(f"{case.key} needs {', '.join(missing)}.")
    kept = {k: v for k, v in given.items() if v}
    if kept == (case.details or {}):
        return False
    now = clock.now()
    case.details = kept
    case.updated_at = now
    record(session, case, now, actor, CaseEventKind.DETAILS, source, answers=kept)
    case_changed(session, now, case)
    return True


def add_note(
    session: Session, clock: Clock, case: Case, actor: str, text: str, source: str | None = None
) -> None:
    """An internal note: kept in the case's timeline for the installing organisation's
    members, never posted to the case's thread."""
    record(session, case, clock.now(), actor, CaseEventKind.NOTE, source, note=text)


def notes(session: Session, case_ids: list[int]) -> dict[int, list[tuple[datetime, str, str]]]:
    """The internal notes of these cases, oldest first: (instant, author, text)."""
    found: dict[int, list[tuple[datetime, str, str]]] = {}
    if not case_ids:
        return found
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.actor, CaseEvent.data)
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.kind == CaseEventKind.NOTE)
        .order_by(CaseEvent.id)
    ).all()
    for case_id, at, actor, data in rows:
        text = (data or {}).get("note")
        if text:  # a purged note keeps its entry, not its words
            found.setdefault(case_id, []).append((at, actor or "", str(text)))
    return found


def resolve(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    actor: str,
    note: str = "",
    source: str | None = None,
) -> bool:
    if case.status == RESOLVED:
        return False
    now = _move(
        session,
        clock,
        policy,
        case,
        actor,
        RESOLVED,
        CaseEventKind.RESOLVED,
        "resolved",
        source,
        note=note,
    )
    notify(
        session,
        now,
        case,
        Intent.RESOLUTION_SUMMARY,
        thread_ts=case.thread_ts,
        **_summary_data(session, policy, case, now),
    )
    return True


def _summary_data(session: Session, policy: Policy, case: Case, now: datetime) -> dict[str, Any]:
    """What the resolution summary says, fixed at the moment of resolving."""
    found = current_deadlines(session, policy, case, now)
    first = next((d for d in found if d.kind == "first_response"), None)
    whole = next((d for d in found if d.kind == "resolution"), None)
    waited = sum(((b - a).total_seconds() for a, b in whole.pauses), 0.0) if whole else 0.0
    breaches = session.execute(
        select(func.count())
        .select_from(Timer)
        .where(
            Timer.case_id == case.id,
            Timer.kind == TimerKind.BREACH,
            Timer.status == TimerStatus.FIRED,
        )
    ).scalar_one()
    return {
        "opened_at": case.opened_at.isoformat(),
        "resolved_at": now.isoformat(),
        "first_due": first.due_at.isoformat() if first and first.due_at else None,
        # A response someone gave: resolving stops the clock, but is no response.
        "first_met": case.first_response_at.isoformat() if case.first_response_at else None,
        "first_by": case.first_response_by,
        "waited_seconds": waited,
        "breaches": int(breaches),
    }


def record_feedback(
    session: Session, clock: Clock, case: Case, user: str, rating: str, source: str | None
) -> str:
    """The requester's rating, kept once: "thanks" the first time, "already" after, or
    "not_requester" for anyone else."""
    if user != case.requester_id:
        return "not_requester"
    now = clock.now()
    stored = insert_ignore(
        session,
        Feedback.__table__,
        {"case_id": case.id, "user_id": user, "rating": rating, "at": now},
    )
    if not stored:
        return "already"
    record(session, case, now, user, CaseEventKind.FEEDBACK, source, rating=rating)
    return "thanks"


def last_wait_started(session: Session, case: Case) -> datetime | None:
    """When the case's current wait on the requester began, if it is waiting."""
    if case.status != WAITING:
        return None
    return session.execute(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == CaseEventKind.WAITING_ON_REQUESTER
        )
    ).scalar_one_or_none()


def comment_feedback(session: Session, case: Case, user: str, comment: str) -> bool:
    """The requester's optional comment on their rating; the first one is kept."""
    found = session.get(Feedback, case.id)
    if found is None or found.user_id != user or found.comment is not None or not comment:
        return False
    found.comment = comment[:3000]
    return True
