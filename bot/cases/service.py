"""Case lifecycle: open, change severity. Plain values in, plain results out; the caller
owns the transaction, so the state change, its timeline entry, its timers and the
messages it causes commit together or not at all. No Slack I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cases.planning import reschedule
from bot.cases.writes import case_changed, notify, record, snapshot
from bot.clock import Clock
from bot.db.models import Case
from bot.db.ops import after_commit, next_case_number
from bot.db.states import CaseEventKind, CaseStatus
from bot.metrics import FIRST_RESPONSES
from bot.outbox import Intent
from bot.policies.policy import Policy


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
            .where(Case.thread_ts == thread_ts, Case.status != CaseStatus.RESOLVED)
            .order_by(Case.id)
        ).scalars()
    )


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
        record(session, case, clock.now(), user, CaseEventKind.REACTED_AGAIN, source_event)
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
        status=CaseStatus.OPEN,
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

    snapshot(session, policy, now)
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
        CaseEventKind.OPENED,
        req.source_event,
        severity=severity,
        policy=policy.id,
        policy_hash=policy.content_hash,
    )
    reschedule(session, policy, case, now)
    notify(
        session, now, case, Intent.CASE_CARD, dedupe_key=f"card:{case.id}", thread_ts=case.thread_ts
    )
    intake = policy.intake_for(case.severity)
    if intake is not None:
        # What the team needs to know, asked once, in the thread, after the card.
        notify(
            session,
            now,
            case,
            Intent.INTAKE_ASK,
            dedupe_key=f"intake:{case.id}",
            thread_ts=case.thread_ts,
        )
    if triage_channel:
        notify(
            session,
            now,
            case,
            Intent.TRIAGE_NOTICE,
            channel_id=triage_channel,
            dedupe_key=f"triage:{case.id}",
        )
    return Opened(case, created=True)


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
        CaseEventKind.SEVERITY_CHANGED,
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
        Intent.SEVERITY_CHANGED,
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
        "responder": CaseEventKind.RESPONDER_REPLY,
        "requester": CaseEventKind.REQUESTER_MESSAGE,
        "external": CaseEventKind.EXTERNAL_MESSAGE,
    }[role]
    record(session, case, at, user, kind, source_event, ts=message_ts)
    if role == "external":
        return
    if role == "requester" and case.status == CaseStatus.WAITING:
        case.status = CaseStatus.OPEN  # the requester answered: the clocks run again
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
