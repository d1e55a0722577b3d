"""How far behind the outbox is: the age of the oldest row still to go, per priority. Read
from the database, so every process (and /metrics) sees the same figure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage
from bot.db.states import IN_FLIGHT
from bot.outbox.priorities import Priority, priority_column


def oldest(session: Session, now: datetime) -> dict[Priority, float]:
    """Seconds the oldest unsent row of each priority has waited (0 when none waits)."""
    priority = priority_column()
    found = session.execute(
        select(priority, func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(IN_FLIGHT))
        .group_by(priority)
    ).all()
    ages = dict.fromkeys(Priority, 0.0)
    for p, created in found:
        ages[Priority(p)] = max(0.0, (now - created).total_seconds())
    return ages
