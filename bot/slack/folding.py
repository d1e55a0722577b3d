"""Rows made moot by another: older updates of a card and App Home refreshes of a person,
folded into the newest, which carries the latest state; reminders overtaken by their breach
alert; a card refresh that found no room in Slack's budget in time. Each keeps the reason it
was not sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage
from bot.db.ops import rowcount
from bot.db.states import OutboxStatus
from bot.outbox import Intent

# The rows that show a card again: a change someone made, or a refresh because time passed.
# Each renders the case as it is when sent, so the newest pending one stands for all.
CARD_CHANGES = (Intent.CASE_CARD_UPDATE, Intent.CASE_CARD_REFRESH)
# How long a card refresh waits for the workspace's `chat.update` budget (Tier 3, 50 a
# minute) to be idle before it is given up: the miss it shows was announced in the thread
# and the channel already, and the card shows it at its next change.
REFRESH_PATIENCE_SECONDS = 10.0


def fold_older(session: Session, now: datetime, row: OutboxMessage) -> int:
    """In the transaction that claims `row`: the pending rows it supersedes are skipped.
    Returns how many."""
    same = [OutboxMessage.team_id == row.team_id]
    if row.intent in CARD_CHANGES:
        same += [OutboxMessage.intent.in_(CARD_CHANGES), OutboxMessage.case_id == row.case_id]
    elif row.intent == Intent.HOME_VIEW:
        same += [OutboxMessage.intent == row.intent, OutboxMessage.channel_id == row.channel_id]
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


def give_up_refresh(session: Session, now: datetime, row_id: int) -> bool:
    """A card refresh that waited its patience out is not sent (nor is any older refresh of
    that card); a change someone made is never given up this way. Returns whether the row
    was still pending."""
    refresh = session.get(OutboxMessage, row_id)
    if refresh is None or refresh.intent != Intent.CASE_CARD_REFRESH:
        return False
    why = (
        f"not sent: Slack's chat.update budget was in use for {REFRESH_PATIENCE_SECONDS:.0f} s;"
        " the miss was announced in the thread, and the card shows it at its next change"
    )
    return bool(
        rowcount(
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.intent == Intent.CASE_CARD_REFRESH,
                    OutboxMessage.case_id == refresh.case_id,
                    OutboxMessage.id <= row_id,
                )
                .values(status=OutboxStatus.SKIPPED, sent_at=now, last_error=why)
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
