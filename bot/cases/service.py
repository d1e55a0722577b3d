"""Case lifecycle: open, change severity. Plain values in, plain results out; the caller
owns the transaction, so the state change, its timeline entry, its timers and the
messages it causes commit together or not at all. No Slack I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db.models import Case, CaseEvent, InboxEvent, OutboxMessage, PolicySnapshot, Timer
from bot.db.ops import after_commit, insert_ignore, next_case_number
from bot.metrics import FIRST_RESPONSES
from bot.policies.schema import Policy
from bot.sla import clocks


@dataclass(frozen=True)
class OpenCase:
    team_id: str
    channel_id: str
    message_ts: str
    thread_ts: str
    requester_id: str | None
    opened_by: str
    text: str
    permalink: str | None
    source_event: str | None
    # The channel is shared with another organisation (Slack Connect).
    shared: bool = False


@dataclass(frozen=True)
class Opened:
    case: Case
    created: bool


# Who wrote in a case's thread, as far as its clocks are concerned.
Role = Literal["responder", "requester", "external"]


class CaseError(Exception):
    """A request the case cannot honour; the message is shown to the user."""


def find_case(session: Session, team_id: str, channel_id: str, message_ts: str) -> Case | None:
    return session.execute(
        select(Case).where(
            Case.team_id == team_id, Case.channel_id == channel_id, Case.message_ts == message_ts
        )
    ).scalar_one_or_none()


def case_for_thread(session: Session, team_id: str, channel_id: str, thread_ts: str) -> Case | None:
    return session.execute(
        select(Case)
        .where(Case.team_id == team_id, Case.channel_id == channel_id)
        .where(Case.thread_ts == thread_ts)
        .order_by(Case.id)
        .limit(1)
    ).scalar_one_or_none()


def cases_for_thread(session: Session, team_id: str, channel_id: str, thread_ts: str) -> list[Case]:
    """The unresolved cases a thread holds (a thread may hold several)."""
    return list(
        session.execute(
            select(Case)
            .where(Case.team_id == team_id, Case.channel_id == channel_id)
            .where(Case.thread_ts == thread_ts, Case.status != "resolved")
            .order_by(Case.id)
        ).scalars()
    )


def record(
    session: Session,
    case: Case,
    now: datetime,
    actor: str,
    kind: str,
    source_event: str | None = None,
    **data: Any,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id, at=now, actor=actor, kind=kind, data=data, source_event=source_event
        )
    )


def enqueue(
    session: Session,
    now: datetime,
    *,
    team_id: str,
    channel_id: str,
    intent: str,
    case: Case | None = None,
    dedupe_key: str | None = None,
    **data: Any,
) -> None:
    values = dict(
        team_id=team_id,
        channel_id=channel_id,
        intent=intent,
        case_id=case.id if case else None,
        data=data,
        dedupe_key=dedupe_key,
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    if dedupe_key is None:
        session.add(OutboxMessage(**values))
    else:
        insert_ignore(session, OutboxMessage.__table__, values)


def notify(
    session: Session,
    now: datetime,
    case: Case,
    intent: str,
    *,
    channel_id: str | None = None,
    dedupe_key: str | None = None,
    **data: Any,
) -> None:
    """An outbox row about a case, to its own channel unless another is given."""
    enqueue(
        session,
        now,
        team_id=case.team_id,
        channel_id=channel_id or case.channel_id,
        intent=intent,
        case=case,
        dedupe_key=dedupe_key,
        **data,
    )


def case_changed(session: Session, now: datetime, case: Case) -> None:
    """The case's state changed: its card is updated, and the App Home of its assignee and
    its requester is published again (as inbox work, once per person and instant however
    many changes the instant holds)."""
    notify(session, now, case, "case_card_update")
    for user in {case.assignee_id, case.requester_id} - {None}:
        insert_ignore(
            session,
            InboxEvent.__table__,
            dict(
                dedupe_key=f"home:{case.team_id}:{user}:{now.isoformat()}",
                kind="home",
                team_id=case.team_id,
                payload={"user": user},
                received_at=now,
                status="pending",
                attempts=0,
                next_attempt_at=now,
            ),
        )


def _snapshot(session: Session, policy: Policy, now: datetime) -> None:
    insert_ignore(
        session,
        PolicySnapshot.__table__,
        dict(
            content_hash=policy.content_hash,
            policy_id=policy.id,
            content=policy.content,
            first_seen_at=now,
        ),
    )


SLA_TIMER_KINDS = ("reminder", "breach")

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
        severity = row.data.get("severity") if row.kind == "opened" else row.data.get("new")
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
        if t.kind == "breach" and t.status == "fired"
    }
    done = {(t.target, t.kind, t.due_at) for t in existing if t.status in ("fired", "dropped")}
    wanted = {
        (p.target, p.what, p.fire_at): p
        for p in clocks.planned_timers(policy, events, now, announced)
    }
    for key in done:
        wanted.pop(key, None)  # type: ignore[arg-type]
    for timer in existing:
        key = (timer.target, timer.kind, timer.due_at)
        plan = wanted.get(key)  # type: ignore[arg-type]
        if timer.status == "pending" and plan is None:
            timer.status = "cancelled"
        elif timer.status in ("pending", "cancelled") and plan is not None:
            timer.status = "pending"
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
                status="pending",
            )
        )
    # Paging follows the severity and status the same way: started, kept or stopped.
    from bot.oncall import paging  # paging writes through this module's helpers

    paging.sync(session, policy, case, now)


def record_reaction(
    session: Session,
    clock: Clock,
    team_id: str,
    channel_id: str,
    message_ts: str,
    user: str,
    source_event: str | None,
) -> Case | None:
    """Another trigger reaction on a message that already has a case: a timeline entry,
    nothing more. Returns the case, or None if the message has none."""
    case = find_case(session, team_id, channel_id, message_ts)
    if case is not None:
        record(session, case, clock.now(), user, "reacted_again", source_event)
    return case


def _insert_case(
    session: Session, policy: Policy, req: OpenCase, severity: str, now: datetime
) -> Case:
    case = Case(
        team_id=req.team_id,
        number=next_case_number(session, req.team_id),
        channel_id=req.channel_id,
        message_ts=req.message_ts,
        thread_ts=req.thread_ts,
        requester_id=req.requester_id,
        opened_by=req.opened_by,
        text=req.text,
        permalink=req.permalink,
        shared=req.shared,
        status="open",
        severity=severity,
        policy_id=policy.id,
        policy_hash=policy.content_hash,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()  # a concurrent open of the same message fails here, on the unique key
    return case


def _reacted(session: Session, clock: Clock, req: OpenCase) -> Case | None:
    """The case the message already has, with this reaction recorded on it."""
    return record_reaction(
        session, clock, req.team_id, req.channel_id, req.message_ts, req.opened_by,
        req.source_event,
    )  # fmt: skip


def open_case(
    session: Session,
    clock: Clock,
    policy: Policy,
    req: OpenCase,
    triage_channel: str | None = None,
) -> Opened:
    """Open one case for a message, or return the one it already has."""
    now = clock.now()
    existing = _reacted(session, clock, req)
    if existing is not None:
        return Opened(existing, created=False)

    _snapshot(session, policy, now)
    severity = policy.initial_severity.id
    try:
        # A savepoint: if another worker opened a case for this message meanwhile (it
        # commits first, and this one fails on the unique key), its number is handed back
        # and the reaction counts on that case instead.
        with session.begin_nested():
            case = _insert_case(session, policy, req, severity, now)
    except IntegrityError:
        existing = _reacted(session, clock, req)
        if existing is None:
            raise
        return Opened(existing, created=False)
    record(
        session,
        case,
        now,
        req.opened_by,
        "opened",
        req.source_event,
        severity=severity,
        policy=policy.id,
        policy_hash=policy.content_hash,
    )
    reschedule(session, policy, case, now)
    notify(session, now, case, "case_card", dedupe_key=f"card:{case.id}", thread_ts=case.thread_ts)
    intake = policy.intake_for(case.severity)
    if intake is not None:
        # What the team needs to know, asked once, in the thread, after the card.
        notify(
            session,
            now,
            case,
            "intake_ask",
            dedupe_key=f"intake:{case.id}",
            thread_ts=case.thread_ts,
        )
    if triage_channel:
        notify(
            session,
            now,
            case,
            "triage_notice",
            channel_id=triage_channel,
            dedupe_key=f"triage:{case.id}",
        )
    return Opened(case, created=True)


def severity_refusal(
    policy: Policy, case: Case, user: str, is_responder: bool, requested: str | None = None
) -> str | None:
    """Why `user` may not set this case's severity to `requested`, or None if they may.

    Responders always may. The requester (whichever organisation they belong to) may where
    the policy says so, to the levels it lists, until a responder has replied; anyone else,
    never."""
    if is_responder:
        return None
    allowed = policy.requester_severities
    if user != case.requester_id or not allowed:
        return f"Only the support team can change the severity of {case.key}."
    if case.first_response_at is not None:
        return (
            f"{case.key} already has a responder, who now owns its severity: ask them in the "
            "thread to change it."
        )
    wanted = policy.severity(requested) if requested else None
    if wanted is not None and wanted not in allowed:
        names = _either(s.name for s in allowed)
        return (
            f"As the requester of {case.key} you may set its severity to {names}; ask the "
            f"support team in the thread for {wanted.name}."
        )
    return None


def _either(names: Iterable[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    found = list(names)
    return found[0] if len(found) == 1 else f"{', '.join(found[:-1])} or {found[-1]}"


def set_severity(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    requested: str,
    actor: str,
    source_event: str | None = None,
    reason: str = "",
) -> bool:
    """Change a case's severity; due times are recomputed from when the case opened.
    Returns False when nothing changed."""
    sev = policy.severity(requested)
    if sev is None:
        names = ", ".join(s.id for s in policy.ordered_severities)
        raise CaseError(f"'{requested}' is not a severity of this policy: use one of {names}")
    if sev.id == case.severity:
        return False
    now = clock.now()
    old = case.severity
    case.severity = sev.id
    case.updated_at = now
    record(
        session,
        case,
        now,
        actor,
        "severity_changed",
        source_event,
        old=old,
        new=sev.id,
        reason=reason,
    )
    reschedule(session, policy, case, now)
    case_changed(session, now, case)
    notify(
        session,
        now,
        case,
        "severity_changed",
        thread_ts=case.thread_ts,
        actor=actor,
        old=old,
        new=sev.id,
        reason=reason,
    )
    return True


def record_message(
    session: Session,
    clock: Clock,
    policy: Policy,
    case: Case,
    user: str,
    role: Role,
    message_ts: str,
    source_event: str | None = None,
    sent_at: datetime | None = None,
) -> None:
    """A person wrote in the case's thread: a responder reply meets the running response
    clock; a requester message may start a next-response clock; a message from another
    organisation's user is recorded and moves no clock.

    The message counts at `sent_at` (when Slack received it), not when the bot got round to
    it: a reply sent in time but processed after an outage met its target. It is kept
    between the case's opening and now."""
    now = clock.now()
    at = min(now, max(sent_at or now, case.opened_at))
    kind = {
        "responder": "responder_reply",
        "requester": "requester_message",
        "external": "external_message",
    }[role]
    record(session, case, at, user, kind, source_event, ts=message_ts)
    if role == "external":
        return
    if role == "requester" and case.status == "waiting":
        case.status = "open"  # the requester answered: the clocks run again
        case_changed(session, now, case)
    first = role == "responder" and case.first_response_at is None
    next_before = case.next_response_due
    if first:
        case.first_response_at = at
        case.first_response_by = user
        due = case.first_response_due
        verdict = "met" if due is None or at < due else "missed"
        after_commit(session, FIRST_RESPONSES.labels(verdict).inc)
    case.updated_at = now
    reschedule(session, policy, case, now)
    if first or case.next_response_due != next_before:
        case_changed(session, now, case)
