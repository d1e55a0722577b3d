"""Acknowledging a page: who it reached, the one acknowledgement that counts, and the
re-page when an acknowledged case gets no responder reply in time. No Slack I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.cases.writes import case_changed, notify, record
from bot.db.models import Case, CaseEvent, Page, Timer
from bot.db.ops import rowcount
from bot.db.states import CaseEventKind, TimerStatus
from bot.metrics import PAGE_ACKS
from bot.oncall.chains import chain_of
from bot.oncall.paging import (
    ACKNOWLEDGED,
    CLIMBING,
    REPAGE,
    STOPPED,
    SYSTEM,
    book_step,
    cancel_steps,
    close_messages,
)
from bot.outbox import Intent


@dataclass(frozen=True)
class Ack:
    outcome: str  # "acknowledged", "already", "no_page"
    by: str | None = None
    at: datetime | None = None
    took: bool = False  # the acknowledgement assigned the case to `by`


def paged_so_far(session: Session, case: Case) -> tuple[set[str], set[str]]:
    """The users and user groups the case's pages have reached."""
    users: set[str] = set()
    groups: set[str] = set()
    rows = session.execute(
        select(CaseEvent.data).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == CaseEventKind.PAGED
        )
    ).scalars()
    for data in rows:
        users.update(data.get("users") or ())
        groups.update(data.get("groups") or ())
    return users, groups


def latest_page(session: Session, case: Case) -> Page | None:
    return session.execute(
        select(Page).where(Page.case_id == case.id).order_by(Page.id.desc()).limit(1)
    ).scalar_one_or_none()


def acknowledge(session: Session, case: Case, user: str, now: datetime, source: str | None) -> Ack:
    """Stop the climb, once: of two acknowledgements only the first is announced. Every page
    of the case still climbing is answered (its severity's and one a miss started)."""
    climbing = list(
        session.execute(
            select(Page.id)
            .where(Page.case_id == case.id, Page.status == CLIMBING)
            .order_by(Page.id.desc())  # the latest first: its id keys the announcement
        ).scalars()
    )
    won = [
        page_id
        for page_id in climbing
        if rowcount(
            session.execute(
                update(Page)
                .where(Page.id == page_id, Page.status == CLIMBING)
                .values(status=ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=now)
            )
        )
    ]
    page = latest_page(session, case)
    if not won:
        if page is None or page.status == STOPPED:
            return Ack("no_page")
        session.refresh(page)
        return Ack("already", page.acknowledged_by, page.acknowledged_at)
    pages = [p for p in (session.get(Page, i) for i in won) if p is not None]
    for page in pages:
        session.refresh(page)
        cancel_steps(session, case, page, f"acknowledged by {user}")
        close_messages(session, case, page, now, user=user, at=now.isoformat())
        PAGE_ACKS.labels(page.chain).observe((now - page.started_at).total_seconds())
        record(session, case, now, user, CaseEventKind.PAGE_ACKNOWLEDGED, source, page=page.id)
    # As in every pager: an acknowledgement means "mine". A case someone already has keeps
    # its assignee.
    took = case.assignee_id is None
    if took:
        case.assignee_id = user
        case.updated_at = now
        record(
            session, case, now, user, CaseEventKind.ASSIGNED, source, old=None, new=user, by="ack"
        )
        case_changed(session, now, case)
    first = pages[0]
    data: dict[str, Any] = {"page": first.id, "user": user, "at": now.isoformat(), "took": took}
    notify(
        session,
        now,
        case,
        Intent.PAGE_ACKNOWLEDGED,
        thread_ts=case.thread_ts,
        dedupe_key=f"page:{first.id}:ack:thread",
        **data,
    )
    for page in pages:
        chain = chain_of(page)
        if chain.channel and chain.channel != case.channel_id:
            notify(
                session,
                now,
                case,
                Intent.PAGE_ACKNOWLEDGED,
                channel_id=chain.channel,
                dedupe_key=f"page:{first.id}:ack:channel:{chain.channel}",
                **data,
            )
        if chain.repage_after is not None:
            session.add(
                Timer(
                    case_id=case.id,
                    kind=REPAGE,
                    target=str(page.id),
                    page_id=page.id,
                    step=0,
                    clock_start=now,
                    due_at=now + chain.repage_after,
                    status=TimerStatus.PENDING,
                )
            )
    return Ack("acknowledged", user, now, took)


def fire_repage(session: Session, case: Case, timer: Timer, now: datetime) -> str | None:
    """An acknowledged page with no responder reply since: the chain climbs again."""
    page = session.get(Page, int(timer.target or 0))
    if page is None or page.status != ACKNOWLEDGED or page.acknowledged_at != timer.clock_start:
        return "the page is no longer in that acknowledgement"
    replied = session.execute(
        select(CaseEvent.id)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.kind == CaseEventKind.RESPONDER_REPLY,
            CaseEvent.at >= page.acknowledged_at,
        )
        .limit(1)
    ).first()
    if replied is not None:
        return "a responder replied"
    acked_by = page.acknowledged_by
    page.status, page.acknowledged_by, page.acknowledged_at = CLIMBING, None, None
    record(
        session,
        case,
        now,
        SYSTEM,
        CaseEventKind.REPAGED,
        None,
        page=page.id,
        acknowledged_by=acked_by,
    )
    book_step(session, page, 0, now)
    return None
