"""Handoffs: at the moment a schedule changes hands, the incoming person gets a direct
message listing the open cases and their next due times. Each handoff is a timer about no
one case ("handoff"), booked under a unique key so replicas book and fire it once; firing
one books the next."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases import queries
from bot.cases.writes import enqueue
from bot.db.models import Case, OncallOverride, Timer
from bot.db.ops import insert_ignore
from bot.db.states import CaseStatus, TimerKind, TimerStatus
from bot.oncall import chains
from bot.outbox import Intent
from bot.policies.policy_set import PolicySet
from bot.timekeeping.rotations import Schedule

HANDOFF = TimerKind.HANDOFF


def _key(name: str, at: datetime) -> str:
    return f"handoff:{name}:{at.isoformat()}"


def book_next(session: Session, name: str, schedule: Schedule, after: datetime) -> None:
    found = schedule.next_handoff(after)
    if found is None:
        return
    at, _ = found
    insert_ignore(
        session,
        Timer.__table__,
        {
            "case_id": None,
            "kind": HANDOFF,
            "target": name[:40],
            "key": _key(name, at),
            "schedule": name,
            "due_at": at,
            "status": TimerStatus.PENDING,
        },
    )


def book_all(session: Session, policies: PolicySet, now: datetime) -> None:
    """The next handoff of every schedule, as each workspace it concerns sees it (a no-op
    for those already booked)."""
    for name, spec in policies.schedules().items():
        for team in _teams(session, policies, name, now):
            book_next(session, name, chains.schedule(session, name, spec, now, team), now)


def schedule_of(timer: Timer) -> str:
    return timer.schedule or ""


def _teams(
    session: Session, policies: PolicySet, name: str, now: datetime, cases: Iterable[Case] = ()
) -> list[str]:
    """The workspaces a schedule's handoff concerns: those its policy names; for a policy
    serving every workspace, each with an open case under it or an override of the schedule
    still running, else the one workspace of single-workspace mode ("")."""
    owner = policies.owner_of_schedule(name)
    if owner.workspaces:
        return list(owner.workspaces)
    overridden = session.execute(
        select(OncallOverride.team_id)
        .where(OncallOverride.schedule == name, OncallOverride.ends_at > now)
        .distinct()
    ).scalars()
    found = sorted({c.team_id for c in cases} | set(overridden) - {""})
    return found or [""]


def fire(session: Session, policies: PolicySet, timer: Timer, now: datetime) -> str | None:
    """One direct message per workspace the handoff concerns, to whoever is on call there
    from now (each workspace sees its own overrides), listing only that workspace's open
    cases and sent with its own token."""
    name = schedule_of(timer)
    spec = policies.schedules().get(name)
    if spec is None:
        return f"schedule '{name}' is not in the policies any more"
    owner = policies.owner_of_schedule(name)
    cases = list(
        session.execute(
            select(Case)
            .where(Case.policy_id == owner.id, Case.status != CaseStatus.RESOLVED)
            .order_by(Case.team_id, Case.id)
            .limit(200)
        ).scalars()
    )
    before = timer.due_at - timedelta(seconds=1)
    told = 0
    for team in _teams(session, policies, name, before, cases):
        # With the overrides still running just before the handoff: one ending then is a
        # handoff too.
        schedule = chains.schedule(session, name, spec, before, team)
        book_next(session, name, schedule, timer.due_at)
        incoming = schedule.on_call(timer.due_at)
        outgoing = schedule.on_call(before)
        if incoming is None or incoming == outgoing:
            continue
        lines = sorted(
            (_line(policies, case) for case in cases if case.team_id == team),
            key=lambda line: line["due"] or line["next_due"] or "9999",
        )
        enqueue(
            session,
            now,
            team_id=team,
            channel_id=incoming,
            intent=Intent.HANDOFF_DM,
            dedupe_key=f"timer:{timer.id}:handoff:{team}" if team else f"timer:{timer.id}:handoff",
            schedule=name,
            at=timer.due_at.isoformat(),
            previous=outgoing,
            cases=lines,
        )
        told += 1
    return None if told else "nobody new is on call then"


def _line(policies: PolicySet, case: Case) -> dict[str, Any]:
    owed = queries.next_due(case)
    policy = policies.get(case.policy_id)
    severity = policy.severity(case.severity) if policy else None
    return {
        "case": case.key,
        "channel": case.channel_id,
        "severity": severity.name if severity else case.severity,
        "status": case.status,
        # The first response while it is owed, else a running next-response clock.
        "due": owed.isoformat() if owed and case.first_response_at is None else None,
        "next_due": owed.isoformat() if owed and case.first_response_at else None,
        "permalink": case.permalink,
    }
