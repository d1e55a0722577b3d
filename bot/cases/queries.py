"""Read-only questions about many cases at once (App Home, reports): plain queries, no
Slack, no writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from bot.db.models import Case
from bot.db.states import UNRESOLVED, CaseStatus


def next_due(case: Case) -> datetime | None:
    """The soonest response the case owes: its first response until one is given, then a
    running next-response clock."""
    if case.first_response_at is None and case.first_response_due is not None:
        return case.first_response_due
    return case.next_response_due


# `next_due` in SQL, so the database sorts before it limits.
_NEXT_DUE = case(
    (
        Case.first_response_at.is_(None) & Case.first_response_due.is_not(None),
        Case.first_response_due,
    ),
    else_=Case.next_response_due,
)
# Soonest due first (an overdue one is soonest); those owing nothing last.
_BY_DUE = (_NEXT_DUE.is_(None), _NEXT_DUE, Case.opened_at, Case.number)


def assigned_to(session: Session, team_id: str, user: str, limit: int = 20) -> list[Case]:
    return list(
        session.execute(
            select(Case)
            .where(Case.team_id == team_id, Case.assignee_id == user)
            .where(Case.status.in_(UNRESOLVED))
            .order_by(*_BY_DUE)
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
    return list(
        session.execute(
            select(Case)
            .where(Case.team_id == team_id, Case.status == CaseStatus.OPEN)
            .where(
                or_(
                    Case.first_response_at.is_(None) & Case.first_response_due.is_not(None),
                    Case.next_response_due.is_not(None),
                )
            )
            .order_by(*_BY_DUE)
            .limit(limit)
        ).scalars()
    )


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
