"""The outbox worker: picks the rows due now, renders each through its intent's renderer
(bot.slack.intents), sends it with WebClient, and records the outcome.

- Order: messages of one case reach Slack in the order they were written; a row that must
  wait (deferred, or claimed elsewhere) holds back the later rows of its case only.
- Rate limits: a 429's Retry-After defers that row and pauses that channel in this process;
  no thread sleeps on it, and other channels go on.
- Exactly once: every post carries the outbox id in its message metadata. A row whose last
  attempt may have reached Slack without the bot hearing back (its sender died, or the
  connection broke) is first looked up in the channel or thread; if Slack has it, it is
  recorded as sent instead of being posted again.
- Nothing is dropped: a failed send is retried with backoff and stays visible."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import webhooks
from bot.cases.view import CaseView
from bot.clock import Clock
from bot.db.models import Case, OutboxMessage
from bot.db.ops import rowcount
from bot.metrics import OUTBOX_FAILED, OUTBOX_RETRIED, OUTBOX_SENT
from bot.oncall import paging
from bot.policies.policy import Policy
from bot.slack.errors import HttpStatusError, error_code, is_transient, retry_after
from bot.slack.intents import FILE_UPLOAD, RENDERERS, RESPONSE_URL, ApiCall, Outgoing, Skip
from bot.slack.page_intents import WEBHOOK

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 15
# A claimed row whose sender died is offered again after this long: a little more than one
# Web API call may take (the client's timeout).
LEASE = timedelta(seconds=15)
METADATA_TYPE = "escalation_bot_message"
# How many pages of 200 messages to search for a post whose outcome the bot never heard.
LOOKUP_PAGES = 10
# Messages a lookup page asks for: what apps outside the Marketplace may read at once.
LOOKUP_PAGE = 15
# The row's creation instant, less this, bounds the lookup: the post cannot be older.
LOOKUP_MARGIN_SECONDS = 60
# Marks an attempt whose outcome the bot never heard: Slack may have the message.
UNANSWERED = "no answer: "

PolicyForCase = Callable[[Session, Case], Policy]

__all__ = ["Deliverer", "Skip"]


def _order(case_id: int | None, channel: str, intent: str) -> tuple[int, str | None] | None:
    """Which rows must reach their destination in the order they were written: a case's
    messages, except that pages (direct messages, on-call posts, webhooks) keep their order
    per destination only, so a pager that is down or a person's rate-limited direct messages
    never hold back the pages meant to cover for them."""
    if case_id is None:
        return None
    return (case_id, channel) if intent in PER_DESTINATION else (case_id, None)


PER_DESTINATION = frozenset(
    {
        "page_dm",
        "page_post",
        "page_warning",
        "page_stopped",
        "page_closed",
        "page_webhook",
        "handoff_dm",
    }
)


class ResponseUrlError(Exception):
    """A response URL answered with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"response_url answered {status}: {body[:100]}")
        self.status = status


class Deliverer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        client: WebClient | Callable[[str], WebClient | None],
        policy_for_case: PolicyForCase,
        bot_user_id: Callable[[str], str | None] = lambda team: None,
        channel_interval: float = 1.0,
        between: Callable[[], None] = lambda: None,
        webhook_secret: str | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.sessions = sessions
        self.clock = clock
        # Each workspace's client (multi-workspace mode), or the one client.
        self.client_for: Callable[[str], WebClient | None] = (
            (lambda team: client) if isinstance(client, WebClient) else client
        )
        self.policy_for_case = policy_for_case
        self.bot_user_id = bot_user_id
        # Slack allows about one message per second per channel.
        self.channel_interval = channel_interval
        # The instant (on the injected clock) before which nothing more goes to a channel
        # from this process: pacing, or a 429's Retry-After.
        self._channel_free: dict[str, datetime] = {}
        self.between = between

    def drain(self, limit: int = 1000) -> int:
        """Send what is due now, in order per case (see `_order`); returns how many were
        delivered."""
        now = self.clock.now()
        with self.sessions() as session:
            rows = list(
                session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.case_id,
                        OutboxMessage.channel_id,
                        OutboxMessage.intent,
                        OutboxMessage.next_attempt_at,
                    )
                    .where(
                        or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending")
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            )
        held: set[tuple[int, str | None]] = set()  # orders with an earlier row still to go
        sent = 0
        for row_id, case_id, channel, intent, next_at in rows:
            order = _order(case_id, channel, intent)
            if order is not None and order in held:
                continue
            if next_at > now or not self._channel_ready(channel):
                if order is not None:
                    held.add(order)
                continue
            self.between()
            before = self._claim(row_id)
            if before is None:
                if order is not None:
                    held.add(order)  # another replica is sending it
                continue
            outcome = self._deliver(row_id, interrupted=before == "sending")
            paced = self.clock.now() + timedelta(seconds=self.channel_interval)
            self._channel_free[channel] = max(self._channel_free.get(channel, paced), paced)
            sent += outcome == "sent"
            if outcome == "deferred" and order is not None:
                held.add(order)
        return sent

    def _channel_ready(self, channel: str) -> bool:
        free = self._channel_free.get(channel)
        wait = (free - self.clock.now()).total_seconds() if free is not None else 0.0
        if wait <= 0:
            return True
        if wait > 0.25:
            return False  # this channel's turn comes on a later pass
        time.sleep(wait)
        return True

    def _claim(self, row_id: int) -> str | None:
        """Take the row for this process; returns the status it had ("sending" means an
        earlier claim never finished), or None if it is not ours to send."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            status = session.execute(
                select(OutboxMessage.status).where(OutboxMessage.id == row_id)
            ).scalar_one_or_none()
            if status not in ("pending", "sending"):
                return None
            # Conditional update: of two replicas reaching the same row, one wins.
            won = rowcount(
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row_id,
                        OutboxMessage.status == status,
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .values(status="sending", next_attempt_at=now + LEASE)
                )
            )
            return status if won else None

    def _deliver(self, row_id: int, interrupted: bool = False) -> str:
        # Only database reads and rendering while the session holds its connection (the one
        # connection, on SQLite): Slack calls and other sessions come after it is closed.
        with self.sessions() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            case = session.get(Case, row.case_id) if row.case_id else None
            policy = self.policy_for_case(session, case) if case is not None else None
            view = CaseView.of(case) if case is not None else None
            intent, channel, team = row.intent, row.channel_id, row.team_id
            # An earlier claim that never finished, or an attempt nobody answered.
            uncertain = interrupted or (row.last_error or "").startswith(UNANSWERED)
            outgoing_since = row.created_at
            outgoing = Outgoing(
                intent,
                channel,
                dict(row.data or {}),
                view,
                policy,
                lambda: self.bot_user_id(team),
                now=self.clock.now(),
            )
        client = self.client_for(team)
        if client is None:
            # Uninstalled from that workspace: nothing can be said there any more; the row
            # stays, saying why.
            self._finish(row_id, "skipped", None, None, note=f"not installed in {team}")
            return "skipped"
        renderer = RENDERERS.get(intent)
        try:
            if renderer is None:
                raise ValueError(f"unknown outbox intent {intent!r}")
            method, kwargs = renderer(outgoing)
        except Skip as skip:
            self._finish(row_id, "skipped", None, None, note=str(skip) or None)
            return "skipped"
        except Exception as exc:
            self._retry_or_fail(row_id, intent, channel, exc, method="render")
            return "failed"
        if method == "chat.postMessage":
            kwargs["metadata"] = {
                "event_type": METADATA_TYPE,
                "event_payload": {"outbox_id": row_id},
            }
            if uncertain:
                try:
                    found = self._find_posted(client, kwargs, row_id, outgoing_since)
                except SlackApiError as exc:
                    if not is_transient(exc):
                        raise
                    # Rate limited or Slack failing while looking: posting now might post
                    # twice, so this row waits and looks again (a 429 waits as asked).
                    self._retry_or_fail(row_id, intent, channel, exc, method="lookup")
                    return "deferred"
                if found is not None:
                    self._finish(row_id, "sent", found, view)
                    OUTBOX_SENT.labels(intent).inc()
                    return "sent"
        return self._send(client, row_id, intent, channel, (method, kwargs), view)

    def _send(
        self,
        client: WebClient,
        row_id: int,
        intent: str,
        channel: str,
        call: ApiCall,
        view: CaseView | None,
    ) -> str:
        method, kwargs = call
        try:
            if method == RESPONSE_URL:
                answer = self._respond(kwargs)
            elif method == FILE_UPLOAD:
                upload = client.files_upload_v2(**kwargs)
                answer = {"ts": None, "channel": kwargs["channel"], "file": upload["file"]["id"]}
            elif method == WEBHOOK:
                webhooks.post(kwargs["url"], kwargs["body"], self.webhook_secret, str(row_id))
                answer = {}
            else:
                resp = client.api_call(method, json=kwargs)
                answer = dict(resp.data) if isinstance(resp.data, dict) else {}
        except Exception as exc:
            return self._retry_or_fail(row_id, intent, channel, exc, method=method)
        kept = {"ts": answer.get("ts"), "channel": answer.get("channel")}
        if answer.get("file"):
            kept["file"] = answer["file"]
        self._finish(row_id, "sent", kept, view)
        OUTBOX_SENT.labels(intent).inc()
        return "sent"

    def _respond(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in kwargs.items() if k != "url"}
        resp = WebhookClient(kwargs["url"], timeout=10).send_dict(body)
        if resp.status_code >= 300:
            raise ResponseUrlError(resp.status_code, resp.body)
        return {}

    def _find_posted(
        self, client: WebClient, kwargs: dict[str, Any], row_id: int, since: datetime
    ) -> dict[str, Any] | None:
        """The message this row already posted, found by its metadata, if Slack has it.
        Only messages from the row's creation on are read, a small page at a time: reads
        may be limited to one call a minute (apps outside the Marketplace)."""
        channel = kwargs["channel"]
        oldest = f"{max(0.0, since.timestamp() - LOOKUP_MARGIN_SECONDS):.6f}"
        try:
            if channel[:1] in ("U", "W"):
                # A direct message was posted to a user id: look in the conversation it
                # made with them.
                channel = client.conversations_open(users=channel)["channel"]["id"]
            pages = self._recent_pages(client, channel, kwargs.get("thread_ts"), oldest)
            for messages in pages:
                for message in messages:
                    meta = message.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if (
                        meta.get("event_type") == METADATA_TYPE
                        and payload.get("outbox_id") == row_id
                    ):
                        log.info("outbox %s was already in Slack as %s", row_id, message.get("ts"))
                        return {"ts": message.get("ts"), "channel": channel}
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            log.warning("outbox %s: cannot look for an earlier post: %s", row_id, error_code(exc))
        return None

    def _recent_pages(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str | None,
        oldest: str,
        pages: int = LOOKUP_PAGES,
    ) -> Iterator[list[dict[str, Any]]]:
        """The thread's or channel's messages since `oldest`, a page at a time."""
        cursor = None
        for _ in range(pages):
            if thread_ts:
                resp = client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    limit=LOOKUP_PAGE,
                    cursor=cursor,
                    include_all_metadata=True,
                )
            else:
                resp = client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    limit=LOOKUP_PAGE,
                    cursor=cursor,
                    include_all_metadata=True,
                )
            yield list(resp.get("messages") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _finish(
        self,
        row_id: int,
        status: str,
        result: dict[str, Any] | None,
        case: CaseView | None,
        note: str | None = None,
    ) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.status = status
            row.sent_at = now
            row.result = result
            row.attempts += 1
            if note is not None:
                row.last_error = note
            if status == "sent":
                paging.close_when_out(session, row, now)
            if row.intent == "case_card" and case is not None and result and result.get("ts"):
                session.execute(update(Case).where(Case.id == case.id).values(card_ts=result["ts"]))
                # The card was rendered just now: updates written before it are moot.
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.case_id == case.id,
                        OutboxMessage.intent == "case_card_update",
                        OutboxMessage.status == "pending",
                        OutboxMessage.id > row_id,
                    )
                    .values(status="skipped", sent_at=now)
                )

    def _retry_or_fail(
        self, row_id: int, intent: str, channel: str, exc: Exception, method: str
    ) -> str:
        now = self.clock.now()
        wait = retry_after(exc)
        answered = isinstance(exc, SlackApiError | HttpStatusError | ResponseUrlError)
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.attempts += 1
            error = (error_code(exc) or f"{type(exc).__name__}: {exc}")[:1900]
            row.last_error = error if answered else UNANSWERED + error
            if wait is not None:
                # Rate limited: not a failure, just not now; this channel's posts wait as
                # Slack asks (a read's limit holds back only the row that read).
                if method != "lookup":
                    self._channel_free[channel] = now + timedelta(seconds=wait)
                row.status = "pending"
                row.next_attempt_at = now + timedelta(seconds=wait)
                OUTBOX_RETRIED.labels(intent, method).inc()
                log.warning("outbox %s rate limited: retry in %.0fs", row_id, wait)
                return "deferred"
            if is_transient(exc) and row.attempts < MAX_ATTEMPTS:
                delay = min(120.0, 2.0 ** min(row.attempts, 7))
                row.status = "pending"
                row.next_attempt_at = now + timedelta(seconds=delay)
                OUTBOX_RETRIED.labels(intent, method).inc()
                log.warning("outbox %s deferred %.0fs: %s", row_id, delay, error)
                return "deferred"
            row.status = "failed"
            OUTBOX_FAILED.labels(intent, method).inc()
            log.error("outbox %s failed for good: %s", row_id, error)
            return "failed"
