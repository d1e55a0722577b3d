"""The outbox worker: claims due rows, renders them, sends them with WebClient, and records
the outcome. A failed send is retried with backoff and stays visible; nothing is dropped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.models import Case, OutboxMessage
from bot.db.ops import rowcount
from bot.metrics import OUTBOX_FAILED, OUTBOX_RETRIED, OUTBOX_SENT
from bot.policies.schema import Policy
from bot.slack import render
from bot.slack.errors import error_code, is_transient, retry_after

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 15
# A claimed row whose sender died is offered again after this long.
LEASE = timedelta(minutes=2)

PolicyForCase = Callable[[Session, Case], Policy]


class Skip(Exception):
    """Nothing to send any more (e.g. a card update made moot by the card itself)."""


class Deliverer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        client: WebClient,
        policy_for_case: PolicyForCase,
        bot_user_id: Callable[[], str | None] = lambda: None,
        channel_interval: float = 1.0,
        between: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.client = client
        self.policy_for_case = policy_for_case
        self.bot_user_id = bot_user_id
        # Slack allows about one message per second per channel.
        self.channel_interval = channel_interval
        self._last_sent: dict[str, float] = {}
        self.between = between

    def drain(self, limit: int = 200) -> int:
        """Send what is due now; returns how many messages were delivered."""
        sent = 0
        now = self.clock.now()
        with self.sessions() as session:
            ids = list(
                session.execute(
                    select(OutboxMessage.id, OutboxMessage.channel_id)
                    .where(
                        or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending"),
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            )
        for row_id, channel in ids:
            self.between()
            wait = self._last_sent.get(channel, 0.0) + self.channel_interval - time.monotonic()
            if wait > 0:
                if wait > 0.25:
                    continue  # this channel's turn comes on a later pass
                time.sleep(wait)
            if self._claim(row_id):
                sent += self._deliver(row_id)
                self._last_sent[channel] = time.monotonic()
        return sent

    def _claim(self, row_id: int) -> bool:
        now = self.clock.now()
        with self.sessions.begin() as session:
            # Conditional update: of two replicas reaching the same row, one wins.
            return bool(
                rowcount(
                    session.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.id == row_id,
                            or_(
                                OutboxMessage.status == "pending", OutboxMessage.status == "sending"
                            ),
                            OutboxMessage.next_attempt_at <= now,
                        )
                        .values(status="sending", next_attempt_at=now + LEASE)
                    )
                )
            )

    def _deliver(self, row_id: int) -> int:
        # Only database reads and rendering while the session holds its connection (the one
        # connection, on SQLite): Slack calls and other sessions come after it is closed.
        with self.sessions() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            case = session.get(Case, row.case_id) if row.case_id else None
            intent, data, channel = row.intent, dict(row.data or {}), row.channel_id
            skipped = False
            try:
                call = None if intent == "dm_notice" else self._render(session, row, case)
            except Skip:
                call, skipped = None, True
        if skipped:
            self._finish(row_id, "skipped", None, None)
            return 0
        if call is None:  # a direct message names the bot, which may take an auth.test call
            call = (
                "chat.postMessage",
                {
                    "channel": channel,
                    "text": render.dm_notice(data, self.bot_user_id()),
                },
            )
        method, kwargs = call
        try:
            resp = self.client.api_call(method, json=kwargs)
        except Exception as exc:
            self._retry_or_fail(row_id, intent, exc)
            return 0
        answer = dict(resp.data) if isinstance(resp.data, dict) else {}
        self._finish(
            row_id, "sent", {"ts": answer.get("ts"), "channel": answer.get("channel")}, case
        )
        OUTBOX_SENT.labels(intent).inc()
        return 1

    def _render(
        self, session: Session, row: OutboxMessage, case: Case | None
    ) -> tuple[str, dict[str, Any]]:
        data = row.data or {}
        if case is None:
            raise Skip
        policy = self.policy_for_case(session, case)
        if row.intent == "case_card":
            text, blocks = render.case_card(case, policy)
            return "chat.postMessage", {
                "channel": row.channel_id,
                "thread_ts": data.get("thread_ts"),
                "text": text,
                "blocks": blocks,
            }
        if row.intent == "case_card_update":
            if case.card_ts is None:
                raise Skip  # the card is not out yet, and will show the new state when it is
            text, blocks = render.case_card(case, policy)
            return "chat.update", {
                "channel": case.channel_id,
                "ts": case.card_ts,
                "text": text,
                "blocks": blocks,
            }
        if row.intent == "triage_notice":
            return "chat.postMessage", {
                "channel": row.channel_id,
                "text": render.triage_notice(case),
                "unfurl_links": False,
            }
        if row.intent == "severity_changed":
            return "chat.postMessage", {
                "channel": row.channel_id,
                "thread_ts": data.get("thread_ts"),
                "text": render.severity_changed(case, policy, data),
            }
        if row.intent == "ephemeral_notice":
            return "chat.postEphemeral", {
                "channel": row.channel_id,
                "user": data["user"],
                "thread_ts": data.get("thread_ts"),
                "text": data["text"],
            }
        if row.intent in ("breach_alert", "sla_reminder"):
            return "chat.postMessage", {
                "channel": row.channel_id,
                "thread_ts": data.get("thread_ts"),
                "text": render.sla_message(case, policy, row.intent, data),
            }
        raise ValueError(f"unknown outbox intent {row.intent!r}")

    def _finish(
        self, row_id: int, status: str, result: dict[str, Any] | None, case: Case | None
    ) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.status = status
            row.sent_at = now
            row.result = result
            row.attempts += 1
            if row.intent == "case_card" and case is not None and result and result.get("ts"):
                session.execute(update(Case).where(Case.id == case.id).values(card_ts=result["ts"]))

    def _retry_or_fail(self, row_id: int, intent: str, exc: Exception) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.attempts += 1
            row.last_error = (error_code(exc) or f"{type(exc).__name__}: {exc}")[:2000]
            if is_transient(exc) and row.attempts < MAX_ATTEMPTS:
                delay = max(retry_after(exc) or 0.0, min(600.0, 2.0**row.attempts))
                row.status = "pending"
                row.next_attempt_at = now + timedelta(seconds=delay)
                OUTBOX_RETRIED.labels(intent).inc()
                log.warning("outbox %s deferred %.0fs: %s", row_id, delay, row.last_error)
            else:
                row.status = "failed"
                OUTBOX_FAILED.labels(intent).inc()
                log.error("outbox %s failed for good: %s", row_id, row.last_error)
