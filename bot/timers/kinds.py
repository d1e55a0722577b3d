"""The handlers of the timers about a case. Each gets the timer with the case's clocks as
they are at fire time; it either acts (timeline entry and outbox rows, in the caller's
transaction) or says why the timer is stale, and the caller drops it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases import lifecycle
from bot.cases.writes import case_changed, notify, record
from bot.clock import FixedClock
from bot.db.models import Case, Timer
from bot.db.states import CaseEventKind, TimerKind, TimerStatus
from bot.metrics import BREACHES
from bot.oncall import acks, chains, handoffs, paging
from bot.outbox import Intent
from bot.policies.oncall import target_parts
from bot.sla import clocks
from bot.timers.registry import Caseless, Firing, WithCase, handles
from bot.words import span


def _moved(f: Firing, d: clocks.Deadline) -> bool:
    return f.timer.target_due_at is not None and d.due_at != f.timer.target_due_at


def _on_call(f: Firing) -> dict[str, Any]:
    """Whom an alert names when the case has no assignee and the policy no responders:
    whoever the severity's chain would page first now (the renderer names the assignee or
    the responders, when there are any, at send time)."""
    responders = f.policy.responders
    if f.case.assignee_id or responders.users or responders.groups:
        return {}
    paged = chains.first_paged(f.session, f.policy, f.case.severity, f.now, f.case.team_id)
    if paged is None or not (paged.users or paged.groups):
        return {}
    return {"on_call_users": paged.users, "on_call_groups": paged.groups}


@handles(TimerKind.REMINDER)
def remind(f: Firing) -> str | None:
    d = f.deadline
    if d is None or d.due_at is None:
        return "the case has no such clock any more"
    if d.met_at is not None:
        return "the target was met"
    if d.paused:
        return "the case is waiting on the requester"
    if _moved(f, d):
        return "the due time moved"
    if f.now >= d.due_at:
        # Caught up after downtime: the breach alert, due at the same instant or earlier,
        # says it all; never a reminder after its own breach.
        return "folded into the breach alert"
    notify(
        f.session,
        f.now,
        f.case,
        Intent.SLA_REMINDER,
        dedupe_key=f"timer:{f.timer.id}:thread",
        thread_ts=f.case.thread_ts,
        target=d.kind,
        due_at=d.due_at.isoformat(),
        fired_at=f.now.isoformat(),
        **_on_call(f),
    )
    record(
        f.session,
        f.case,
        f.now,
        "escalation-bot",
        CaseEventKind.SLA_REMINDER,
        None,
        target=d.kind,
        due_at=d.due_at.isoformat(),
    )
    return None


def announced_breach(
    session: Session, case: Case, d: clocks.Deadline, besides: int | None = None
) -> int | None:
    """The breach timer (other than `besides`) that already announced this clock's miss."""
    fired = session.execute(
        select(Timer.id, Timer.clock_start).where(
            Timer.case_id == case.id,
            Timer.kind == TimerKind.BREACH,
            Timer.target == d.kind,
            Timer.status == TimerStatus.FIRED,
            Timer.id != (besides or 0),
        )
    ).all()
    for timer_id, start in fired:
        if (start or case.opened_at) == d.started_at:
            return int(timer_id)
    return None


@handles(TimerKind.BREACH)
def breach(f: Firing) -> str | None:
    d = f.deadline
    if d is None or d.due_at is None:
        return "the case has no such clock any more"
    if not clocks.breached(d, f.now):
        return "the target is not missed"
    if announced_breach(f.session, f.case, d, besides=f.timer.id) is not None:
        return "this clock's breach was announced already"
    data: dict[str, Any] = {
        "target": d.kind,
        "due_at": d.due_at.isoformat(),
        "fired_at": f.now.isoformat(),
    }
    record(f.session, f.case, f.now, "escalation-bot", CaseEventKind.BREACH_ALERT, None, **data)
    data.update(_on_call(f))
    BREACHES.labels(d.kind).inc()
    notify(
        f.session,
        f.now,
        f.case,
        Intent.BREACH_ALERT,
        dedupe_key=f"timer:{f.timer.id}:thread",
        thread_ts=f.case.thread_ts,
        **data,
    )
    if f.triage_channel:
        notify(
            f.session,
            f.now,
            f.case,
            Intent.BREACH_ALERT,
            channel_id=f.triage_channel,
            dedupe_key=f"timer:{f.timer.id}:triage",
            **data,
        )
    _on_breach(f, d, data)
    case_changed(f.session, f.now, f.case, by_clock=True)
    return None


def _on_breach(f: Firing, d: clocks.Deadline, data: dict[str, Any]) -> None:
    """The missed target's severity's `on_breach`: its chain paged (once per clock, as the
    breach alert is announced once per clock), each notify target told once."""
    severity = f.policy.severity(d.severity)
    spec = severity.on_breach if severity else None
    if spec is None:
        return
    if spec.page is not None and f.policy.oncall and spec.page in f.policy.oncall.escalations:
        paging.start(f.session, f.policy, f.case, spec.page, f.now, breach=d.kind)
    kinds = [target_parts(t) for t in spec.notify]
    groups = [value for kind, value in kinds if kind == "group"]
    for kind, value in kinds:
        if kind == "group":
            continue  # mentioned in each channel below
        notify(
            f.session,
            f.now,
            f.case,
            Intent.BREACH_NOTICE,
            channel_id=value,
            dedupe_key=f"timer:{f.timer.id}:notify:{kind}:{value}",
            groups=groups if kind == "channel" else [],
            **{k: v for k, v in data.items() if not k.startswith("on_call_")},
        )


@handles(paging.STEP, without_case=True)
def page_step_alone(c: Caseless) -> str | None:
    try:
        return paging.fire_step_alone(c.session, c.timer, c.now)
    except paging.NeedsTheCase:
        raise WithCase from None


@handles(paging.STEP)
def page_step(f: Firing) -> str | None:
    return paging.fire_step(f.session, f.policy, f.case, f.timer, f.now)


@handles(paging.REPAGE)
def repage(f: Firing) -> str | None:
    return acks.fire_repage(f.session, f.case, f.timer, f.now)


@handles(TimerKind.AUTO_RESOLVE)
def auto_resolve(f: Firing) -> str | None:
    """A case that waited on the requester as long as the policy allows is resolved."""
    started = lifecycle.last_wait_started(f.session, f.case)
    if started is None or started != f.timer.clock_start:
        return "the case is no longer in that wait"
    waited = span(f.now - started)
    lifecycle.resolve(
        f.session,
        FixedClock(f.now),
        f.policy,
        f.case,
        "escalation-bot",
        f"no answer from the requester for {waited}",
    )
    return None


@handles(TimerKind.HANDOFF, caseless=True)
def handoff(c: Caseless) -> str | None:
    if c.setup.policies is None:
        return "no policies to find the schedule in"
    return handoffs.fire(c.session, c.setup.policies, c.timer, c.now)
