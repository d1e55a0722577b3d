"""How an outbox row's attempt went, recorded on the row: sent, skipped, retried later
with backoff (or as long as Slack asked), or failed for good. Nothing is dropped: a failed
row stays, saying why."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.view import CaseView
from bot.db.models import Case, OutboxMessage
from bot.db.states import OutboxStatus
from bot.metrics import OUTBOX_FAILED, OUTBOX_RETRIED
from bot.oncall import paging
from bot.outbox import Intent
from bot.slack import folding
from bot.slack.errors import error_code, is_transient, retry_after
from bot.slack.folding import CARD_CHANGES
from bot.webhooks import HttpStatusError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 15
# Marks an attempt whose outcome the bot never heard: Slack may have the message.
UNANSWERED = "no answer: "


class Outcome(StrEnum):
    """What one delivery attempt came to."""

    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"  # tried again later; the rows after it in its order wait


class ResponseUrlError(Exception):
    """A response URL answered with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"response_url answered {status}: {body[:100]}")
        self.status = status


def finish(
    sessions: sessionmaker[Session],
    now: datetime,
    row_id: int,
    status: str,
    result: dict[str, Any] | None,
    case: CaseView | None,
    note: str | None = None,
) -> None:
    """Record how the row went; a card that went out makes updates written before it moot."""
    with sessions.begin() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.status = status
        row.sent_at = now
        row.result = result
        row.attempts += 1
        if note is not None:
            row.last_error = note
        if status == OutboxStatus.SENT:
            paging.close_when_out(session, row, now)
            folding.drop_overtaken(session, now, row)
        if row.intent == Intent.CASE_CARD and case is not None and result and result.get("ts"):
            session.execute(update(Case).where(Case.id == case.id).values(card_ts=result["ts"]))
            # The card was rendered just now: updates written before it are moot.
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.case_id == case.id,
                    OutboxMessage.intent.in_(CARD_CHANGES),
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.id > row_id,
                )
                .values(status=OutboxStatus.SKIPPED, sent_at=now)
            )


def retry_or_fail(
    sessions: sessionmaker[Session],
    now: datetime,
    row_id: int,
    intent: str,
    exc: Exception,
    method: str,
) -> tuple[Outcome, float | None]:
    """A failed attempt: retried later (after Slack's Retry-After when it gave one, which
    is returned too) or, when no retry would mend it, failed for good."""
    wait = retry_after(exc)
    answered = isinstance(exc, SlackApiError | HttpStatusError | ResponseUrlError)
    with sessions.begin() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.attempts += 1
        error = (error_code(exc) or f"{type(exc).__name__}: {exc}")[:1900]
        row.last_error = error if answered else UNANSWERED + error
        if wait is not None:
            # Rate limited: not a failure, just not now.
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=wait)
            OUTBOX_RETRIED.labels(intent, method).inc()
            log.warning("outbox %s rate limited: retry in %.0fs", row_id, wait)
            return Outcome.DEFERRED, wait
        if is_transient(exc) and row.attempts < MAX_ATTEMPTS:
            delay = min(120.0, 2.0 ** min(row.attempts, 7))
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=delay)
            OUTBOX_RETRIED.labels(intent, method).inc()
            log.warning("outbox %s deferred %.0fs: %s", row_id, delay, error)
            return Outcome.DEFERRED, None
        row.status = OutboxStatus.FAILED
        OUTBOX_FAILED.labels(intent, method).inc()
        log.error("outbox %s failed for good: %s", row_id, error)
        return Outcome.FAILED, None
