"""Firing due timers. APScheduler only decides when to look; the timer rows decide what is
due. Claiming a timer is a conditional update, so two replicas ticking at once fire it once,
and the message it causes is an outbox row in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.service import notify, record
from bot.clock import Clock
from bot.db.models import Case, Timer
from bot.db.ops import rowcount


def fire_due(
    sessions: sessionmaker[Session],
    clock: Clock,
    triage_channel: str | None = None,
    between: Callable[[], None] = lambda: None,
) -> int:
    now = clock.now()
    with sessions() as session:
        due = list(
            session.execute(
                select(Timer.id)
                .where(Timer.status == "pending", Timer.due_at <= now)
                .order_by(Timer.due_at, Timer.id)
                .limit(200)
            ).scalars()
        )
    fired = 0
    for timer_id in due:
        between()
        with sessions.begin() as session:
            claimed = rowcount(
                session.execute(
                    update(Timer)
                    .where(Timer.id == timer_id, Timer.status == "pending")
                    .values(status="fired", fired_at=now)
                )
            )
            if not claimed:
                continue
            timer = session.get(Timer, timer_id)
            case = session.get(Case, timer.case_id) if timer else None
            if timer is None or case is None or case.status != "open":
                continue
            _announce(session, case, timer, now, triage_channel)
            fired += 1
    return fired


def _announce(
    session: Session, case: Case, timer: Timer, now: datetime, triage_channel: str | None
) -> None:
    # Timer kinds read "<target>:<what>", e.g. "first_response:breach".
    target, _, what = timer.kind.partition(":")
    intent = "breach_alert" if what == "breach" else "sla_reminder"
    record(
        session,
        case,
        now,
        "escalation-bot",
        intent,
        None,
        target=target,
        due_at=timer.due_at.isoformat(),
    )
    data = {"target": target, "due_at": timer.due_at.isoformat()}
    notify(
        session,
        now,
        case,
        intent,
        dedupe_key=f"timer:{timer.id}:thread",
        thread_ts=case.thread_ts,
        **data,
    )
    if triage_channel and intent == "breach_alert":
        notify(
            session,
            now,
            case,
            intent,
            channel_id=triage_channel,
            dedupe_key=f"timer:{timer.id}:triage",
            **data,
        )
