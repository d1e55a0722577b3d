"""Paging a case's escalation chain: start, climb, stop (acknowledging is in acks.py). No
Slack I/O: each step writes the case's timeline, outbox rows (the direct messages, the chain
channel's post, webhook calls) and the timer of the next step, in the caller's transaction.

A case pages while its severity names a chain and it is not resolved. The chain is frozen
onto a `pages` row when paging starts. Each step is a timer ("page_step", with its page and
step): level by level, `repeat` more rounds, then the fallback. A step fires
once (timers are claimed), and one whose page was acknowledged or stopped is dropped. A page
also keeps the facts of its case its messages show (bot.oncall.facts): while `cases` is
locked, a step fires from them without reading the case (`fire_step_alone`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.cases.planning import follow_changes
from bot.cases.writes import enqueue, notify, record, record_about
from bot.db.models import Case, OutboxMessage, Page, Timer
from bot.db.ops import after_commit
from bot.db.states import (
    ACTIVE_PAGES,
    CaseEventKind,
    CaseStatus,
    OutboxStatus,
    PageStatus,
    TimerKind,
    TimerStatus,
)
from bot.metrics import PAGES
from bot.oncall.chains import Paged, Step, chain_of, plan_of, resolve, schedule, steps
from bot.oncall.facts import case_facts, keep_facts, message_data
from bot.outbox import Intent
from bot.policies.oncall import EscalationSpec, ScheduleSpec
from bot.policies.policy import Policy

CLIMBING, ACKNOWLEDGED, STOPPED = PageStatus.CLIMBING, PageStatus.ACKNOWLEDGED, PageStatus.STOPPED
ACTIVE = ACTIVE_PAGES
STEP, REPAGE = TimerKind.PAGE_STEP, TimerKind.REPAGE
PAGE_MESSAGES = (Intent.PAGE_DM, Intent.PAGE_POST)
SYSTEM = "escalation-bot"


# -- starting and stopping ----------------------------------------------------------------


def active_pages(session: Session, case: Case) -> list[Page]:
    """The case's pages still climbing or acknowledged, newest first."""
    return list(
        session.execute(
            select(Page)
            .where(Page.case_id == case.id, Page.status.in_(ACTIVE))
            .order_by(Page.id.desc())
        ).scalars()
    )


def for_breach(page: Page) -> str | None:
    """The missed target a page was started for (a severity's `on_breach`), or None for
    the page a paging severity starts."""
    found = page.plan.get("breach")
    return str(found) if found else None


@follow_changes
def sync(session: Session, policy: Policy, case: Case, now: datetime) -> None:
    """Start paging when the case is in a paging severity and unresolved with no page
    running; stop it when it no longer is. Resolving stops every page of the case, those
    started by a miss too. The pages that go on keep the case's facts current."""
    resolved = case.status == CaseStatus.RESOLVED
    wanted = policy.chain_for(case.severity) if not resolved else None
    running = active_pages(session, case)
    page = next((p for p in running if for_breach(p) is None), None)
    if page is not None and page.chain != wanted:
        stop(
            session,
            case,
            page,
            now,
            "the case is resolved" if resolved else "the severity was lowered",
        )
        running.remove(page)
        page = None
    if resolved:
        for other in running:
            stop(session, case, other, now, "the case is resolved")
        return
    for other in running:
        keep_facts(other, policy, case)
    if wanted is not None and page is None:
        start(session, policy, case, wanted, now)


def start(
    session: Session,
    policy: Policy,
    case: Case,
    chain: str,
    now: datetime,
    breach: str | None = None,
) -> Page:
    """Start paging `chain` for the case: for its severity, or, with `breach` (the missed
    target), for a severity's `on_breach`."""
    plan = plan_of(policy, chain)
    plan["case"] = case_facts(policy, case)
    if breach is not None:
        plan["breach"] = breach
    page = Page(case_id=case.id, chain=chain, plan=plan, started_at=now, status=CLIMBING)
    session.add(page)
    session.flush()
    extra = {"breach": breach} if breach else {}
    record(
        session,
        case,
        now,
        SYSTEM,
        CaseEventKind.PAGE_STARTED,
        None,
        page=page.id,
        chain=chain,
        **extra,
    )
    book_step(session, page, 0, now)
    return page


def book_step(session: Session, page: Page, index: int, at: datetime) -> None:
    session.add(
        Timer(
            case_id=page.case_id,
            kind=STEP,
            target=f"{page.id}/{index}",
            page_id=page.id,
            step=index,
            clock_start=page.started_at,
            due_at=at,
            status=TimerStatus.PENDING,
        )
    )


def stop(session: Session, case: Case, page: Page, now: datetime, why: str) -> None:
    was = page.status
    page.status, page.ended_at, page.note = STOPPED, now, why
    cancel_steps(session, case, page, why)
    close_messages(session, case, page, now, why=why)
    record(session, case, now, SYSTEM, CaseEventKind.PAGE_STOPPED, None, page=page.id, why=why)
    channel = chain_of(page).channel
    if was == CLIMBING and channel:
        notify(
            session,
            now,
            case,
            Intent.PAGE_STOPPED,
            channel_id=channel,
            dedupe_key=f"page:{page.id}:stopped",
            why=why,
        )


def cancel_steps(session: Session, case: Case, page: Page, why: str) -> None:
    """The page's booked steps (and re-page) will not be needed; a step already claimed
    elsewhere finds the page's new status and is dropped instead."""
    session.execute(
        update(Timer)
        .where(
            Timer.case_id == case.id,
            Timer.kind.in_((STEP, REPAGE)),
            Timer.page_id == page.id,
            Timer.status == TimerStatus.PENDING,
        )
        .values(status=TimerStatus.CANCELLED, note=why)
    )


def close_messages(session: Session, case: Case, page: Page, now: datetime, **why: str) -> None:
    """The page is over: its messages still waiting to go out are not sent (nobody is woken
    for a page already answered), and those out lose their Acknowledge button."""
    rows = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case.id, OutboxMessage.intent.in_(PAGE_MESSAGES))
        .order_by(OutboxMessage.id)
    ).scalars()
    for row in rows:
        if (row.data or {}).get("page") != page.id:
            continue
        if row.status == OutboxStatus.PENDING:
            row.status, row.last_error = (
                OutboxStatus.SKIPPED,
                "the page was over before this went out",
            )
        elif row.status == OutboxStatus.SENT:
            _closed(session, case, page, row, now, why)
        # A row being sent right now is closed when it is out (`close_when_out`).


def webhook_destination(url: str) -> str:
    """The outbox channel of a page webhook: one per receiving URL (a digest that fits)."""
    return "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def close_when_out(session: Session, row: OutboxMessage, now: datetime) -> None:
    """A page message that went out after its page ended (it was being sent when the page
    was answered or stopped): its button goes too. Called as the row is marked sent; the
    page row is locked, so an acknowledgement committing meanwhile is seen here."""
    page_id = (row.data or {}).get("page")
    if row.intent not in PAGE_MESSAGES or not isinstance(page_id, int) or row.case_id is None:
        return
    page = session.execute(
        select(Page).where(Page.id == page_id).with_for_update()
    ).scalar_one_or_none()
    if page is None or page.status == CLIMBING:
        return
    case = session.get(Case, row.case_id)
    if case is None:
        return
    if page.status == ACKNOWLEDGED and page.acknowledged_by and page.acknowledged_at:
        why = {"user": page.acknowledged_by, "at": page.acknowledged_at.isoformat()}
    else:
        why = {"why": page.note or "paging stopped"}
    _closed(session, case, page, row, now, why)


def _closed(
    session: Session, case: Case, page: Page, row: OutboxMessage, now: datetime, why: dict[str, str]
) -> None:
    if not (row.result and row.result.get("ts")):
        return
    notify(
        session,
        now,
        case,
        Intent.PAGE_CLOSED,
        channel_id=str(row.result.get("channel") or row.channel_id),
        dedupe_key=f"page:{page.id}:closed:{row.id}",
        ts=row.result["ts"],
        severity_name=(row.data or {}).get("severity_name"),
        **why,
    )


# -- a step -------------------------------------------------------------------------------


def page_for_timer(session: Session, timer: Timer, lock: bool = False) -> tuple[Page | None, int]:
    """The step's page (locked for this transaction with `lock`) and the step's index."""
    if timer.page_id is None:
        return None, 0
    return session.get(Page, timer.page_id, with_for_update=lock), timer.step or 0


class NeedsTheCase(Exception):
    """The page was started by an earlier release and keeps no facts of its case: its step
    fires the way it did then, reading the case."""


def fire_step_alone(session: Session, timer: Timer, now: datetime) -> str | None:
    """Page one step's targets and book the next step, or say why the step is stale, from
    the page row alone: nothing here reads or locks `cases`. The page row is locked
    instead; a change to the case that ends the page updates that row in its own
    transaction, so one of the two waits for the other."""
    page, index = page_for_timer(session, timer, lock=True)
    if page is None:
        return "the page is gone"
    facts = page.plan.get("case")
    if not isinstance(facts, dict):
        raise NeedsTheCase
    return _not_climbing(page) or _fire(session, page, index, facts, timer, now)


def fire_step(
    session: Session, policy: Policy, case: Case, timer: Timer, now: datetime
) -> str | None:
    """A step of a page started by an earlier release: as `fire_step_alone`, with the
    case read (and locked by the caller)."""
    page, index = page_for_timer(session, timer)
    if page is None:
        return "the page is gone"
    stale = _not_climbing(page)
    if stale is not None:
        return stale
    wanted = policy.chain_for(case.severity) if case.status != CaseStatus.RESOLVED else None
    if for_breach(page) is not None and case.status != CaseStatus.RESOLVED:
        wanted = page.chain  # a miss pages its chain whatever the severity is now
    if wanted != page.chain:
        # The case changed without stopping this page (two changes interleaved): it no
        # longer wants this chain, so the climb ends here.
        why = (
            "the case is resolved"
            if case.status == CaseStatus.RESOLVED
            else "the severity was lowered"
        )
        stop(session, case, page, now, why)
        return f"paging stopped: {why}"
    return _fire(session, page, index, case_facts(policy, case), timer, now)


def _not_climbing(page: Page) -> str | None:
    if page.status == CLIMBING:
        return None
    if page.status == ACKNOWLEDGED:
        return f"acknowledged by {page.acknowledged_by}"
    return f"paging stopped: {page.note or page.status}"


def _fire(
    session: Session,
    page: Page,
    index: int,
    facts: dict[str, Any],
    timer: Timer,
    now: datetime,
) -> str | None:
    chain = chain_of(page)
    plan = steps(chain)
    if index >= len(plan):
        return "no such step"
    step = plan[index]
    team = str(facts["team"])
    paged = _resolve(session, page, chain, step, now, team)
    key = f"timer:{timer.id}"
    data = message_data(facts, page, step)

    def say(intent: Intent, channel: str, dedupe: str, **extra: Any) -> None:
        enqueue(
            session,
            now,
            team_id=team,
            channel_id=channel,
            intent=intent,
            case_id=page.case_id,
            dedupe_key=f"{key}:{dedupe}",
            **data,
            **extra,
        )

    for user in paged.users:
        say(Intent.PAGE_DM, user, f"dm:{user}")
    mentions = {"users": paged.users, "groups": paged.groups}
    posts = list(dict.fromkeys([*paged.channels, *([chain.channel] if chain.channel else [])]))
    for channel in posts:
        say(Intent.PAGE_POST, channel, f"post:{channel}", **mentions)
    for i, url in enumerate(paged.webhooks):
        # Pacing goes by channel: each pager is a destination of its own.
        say(Intent.PAGE_WEBHOOK, webhook_destination(url), f"hook:{i}", url=url, **mentions)
    if paged.nobody_on_call and chain.channel:
        say(
            Intent.PAGE_WARNING,
            chain.channel,
            "warning",
            schedules=paged.nobody_on_call,
            fallback=list(chain.fallback),
        )
    record_about(
        session,
        page.case_id,
        now,
        SYSTEM,
        CaseEventKind.PAGED,
        None,
        page=page.id,
        step=step.index,
        round=step.round,
        level=step.level,
        users=paged.users,
        groups=paged.groups,
        channels=posts,
        webhooks=len(paged.webhooks),
        nobody_on_call=paged.nobody_on_call,
        fallback=paged.fallback,
    )
    after_commit(session, PAGES.labels(page.chain, str(step.level)).inc)
    if step.wait is not None:
        # From this step's own instant, so a late step does not push the chain back.
        book_step(session, page, index + 1, timer.due_at + step.wait)
    return None


def _resolve(
    session: Session, page: Page, chain: EscalationSpec, step: Step, now: datetime, team_id: str
) -> Paged:
    specs = {n: ScheduleSpec.model_validate(s) for n, s in page.plan["schedules"].items()}
    return resolve(
        chain, step, now, lambda name: schedule(session, name, specs[name], now, team_id)
    )
