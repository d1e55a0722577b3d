"""Which page a Slack message is: pages are outbox rows, and a sent row keeps the channel
and ts Slack gave it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Case, OutboxMessage
from bot.db.states import OutboxStatus
from bot.outbox import Intent

PAGE_INTENTS = (Intent.PAGE_DM, Intent.PAGE_POST)
# A reaction on a page older than this is not an acknowledgement any more.
RECENT = timedelta(days=14)


def case_of_page_message(
    session: Session, team_id: str, channel: str, ts: str, now: datetime
) -> int | None:
    """The number of the case whose page is the message (channel, ts), if it is one."""
    rows = session.execute(
        select(OutboxMessage.result, Case.number)
        .join(Case, Case.id == OutboxMessage.case_id)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.intent.in_(PAGE_INTENTS),
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.created_at >= now - RECENT,
        )
    ).all()
    for result, number in rows:
        if result and result.get("ts") == ts and result.get("channel") == channel:
            return int(number)
    return None


def paged_in(session: Session, case: Case, channel: str) -> bool:
    """Whether a page of `case` was posted in `channel` (the chain's channel, or the direct
    message a person got): there, `/case ack` may name the case."""
    rows = session.execute(
        select(OutboxMessage.channel_id, OutboxMessage.result).where(
            OutboxMessage.case_id == case.id,
            OutboxMessage.intent.in_(PAGE_INTENTS),
            OutboxMessage.status == OutboxStatus.SENT,
        )
    ).all()
    return any(channel in (sent_to, (result or {}).get("channel")) for sent_to, result in rows)
