"""Read-only questions about many cases at once (App Home, reports): plain queries, no
Slack, no writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.models import Case

UNRESOLVED = ("open", "waiting")


def next_due(case: Case) -> datetime | None:
    """The soonest response the case owes: its first response until one is given, then a
    running next-response clock."""
    if case.first_response_at is None and case.first_response_due is not None:
        return case.first_response_due
    return case.next_response_due


def assigned_to(session: Session, team_id: str, user: str, limit: int = 20) -> list[Case]:
    return _by_due(
        session.execute(
            select(Case)
            .where(Case.team_id == team_id, Case.assignee_id == user)
            .where(Case.status.in_(UNRESOLVED))
            .limit(limit)
        ).scalars()
    )


def requested_by(session: Session, team_id: str, user: str, limit: int = 20) -> list[Case]:
    return list(
        session.execute(
            select(Case)
            .where(Case.team_id == team_id, Case.requester_id == user)
            .order_by(Case.opened_at.desc())
            .limit(limit)
        ).scalars()
    )


def at_risk(session: Session, team_id: str, now: datetime, limit: int = 15) -> list[Case]:
    """Unresolved cases owing a response, breached ones first, then the soonest due."""
    found = session.execute(
        select(Case)
        .where(Case.team_id == team_id, Case.status == "open")
        .where(
            or_(
                Case.first_response_at.is_(None) & Case.first_response_due.is_not(None),
                Case.next_response_due.is_not(None),
            )
        )
        .limit(500)
    ).scalars()
    return _by_due(found)[:limit]


def _by_due(cases: Iterable[Case]) -> list[Case]:
    """Soonest due first (an overdue one is soonest); those owing nothing last."""
    return sorted(cases, key=lambda c: (next_due(c) is None, next_due(c) or c.opened_at, c.number))


def unread_in_channel(session: Session, team_id: str, channel_id: str, since_ts: str) -> list[str]:
    """Message ts of the channel's cases from `since_ts` on whose text is still unread
    (opened while reading was rate limited)."""
    return list(
        session.execute(
            select(Case.message_ts).where(
                Case.team_id == team_id,
                Case.channel_id == channel_id,
                Case.text == "",
                Case.message_ts >= since_ts,
            )
        ).scalars()
    )
