"""Rows made moot by another: older updates of a card and App Home refreshes of a person,
folded into the newest, which carries the latest state; reminders overtaken by their breach
alert. Each keeps the reason it was not sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage
from bot.db.ops import rowcount
from bot.db.states import OutboxStatus
from bot.outbox import Intent


def fold_older(session: Session, now: datetime, row: OutboxMessage) -> int:
    """In the transaction that claims `row`: the pending rows it supersedes are skipped.
    Returns how many."""
    same = [OutboxMessage.intent == row.intent, OutboxMessage.team_id == row.team_id]
    if row.intent == Intent.CASE_CARD_UPDATE:
        same.append(OutboxMessage.case_id == row.case_id)
    elif row.intent == Intent.HOME_VIEW:
        same.append(OutboxMessage.channel_id == row.channel_id)
    else:
        return 0
    return rowcount(
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.id < row.id, *same)
            .values(
                status=OutboxStatus.SKIPPED,
                sent_at=now,
                last_error=f"folded into outbox {row.id}, which carries the latest state",
            )
        )
    )


def drop_overtaken(session: Session, now: datetime, breach: OutboxMessage) -> int:
    """Once a breach alert is out, its case's pending reminders of the same target are
    moot. Returns how many were dropped."""
    if breach.intent != Intent.BREACH_ALERT or breach.case_id is None:
        return 0
    target = (breach.data or {}).get("target")
    reminders = session.execute(
        select(OutboxMessage).where(
            OutboxMessage.case_id == breach.case_id,
            OutboxMessage.intent == Intent.SLA_REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    ).scalars()
    dropped = 0
    for reminder in reminders:
        if (reminder.data or {}).get("target") == target:
            reminder.status = OutboxStatus.SKIPPED
            reminder.sent_at = now
            reminder.last_error = f"overtaken by its breach alert (outbox {breach.id})"
            dropped += 1
    return dropped
