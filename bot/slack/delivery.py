"""The outbox worker: picks the rows due now, renders each through its intent's renderer
(bot.slack.intents), sends it with WebClient, and records the outcome.

- Order: most urgent first, and what must wait for what (bot.slack.queue): a case's card
  before anything in its thread, a case's rows of one priority in the order written.
- Rate limits: each method keeps to its own limit, per channel or per workspace
  (bot.slack.pacing); a 429's Retry-After holds that method there. A row whose turn has not
  come waits for a later pass; no thread sleeps on it, and other channels go on.
- Less to send: superseded card updates and App Home refreshes fold into the newest, and
  alerts due together in a channel go out as one digest (bot.slack.digests).
- Exactly once: every post carries the outbox id in its message metadata. A row whose last
  attempt may have reached Slack without the bot hearing back (its sender died, or the
  connection broke) is first looked up in the channel or thread; if Slack has it, it is
  recorded as sent instead of being posted again.
- Nothing is dropped: a failed send is retried with backoff and stays visible.
- Lanes: page webhooks can be sent apart from the rest (`Lane`), so a pager that is slow to
  answer never holds back a Slack message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox, webhooks
from bot.cases.view import CaseView
from bot.clock import Clock
from bot.db.models import Case, OutboxMessage
from bot.db.ops import rowcount
from bot.db.states import IN_FLIGHT, OutboxStatus
from bot.metrics import OUTBOX_SENT
from bot.policies.policy import Policy
from bot.slack import digests, folding, lookup, outcomes, queue
from bot.slack.errors import is_transient
from bot.slack.intents import FILE_UPLOAD, RENDERERS, RESPONSE_URL, ApiCall, Outgoing, Skip
from bot.slack.outcomes import UNANSWERED, Outcome, ResponseUrlError
from bot.slack.pacing import POST, Pacer, method_of
from bot.slack.page_intents import STEP_MESSAGES, WEBHOOK
from bot.slack.queue import Lane

log = logging.getLogger(__name__)

# A claimed row whose sender died is offered again after this long: a little more than one
# Web API call may take (the client's timeout).
LEASE = timedelta(seconds=15)
# How long one delivery pass sends before it gives way to the next pass.
PASS_SECONDS = 2.0

PolicyForCase = Callable[[Session, Case], Policy]

__all__ = ["Deliverer", "Lane", "Skip"]


class Deliverer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        client: WebClient | Callable[[str], WebClient | None],
        policy_for_case: PolicyForCase,
        bot_user_id: Callable[[str], str | None] = lambda team: None,
        paced: bool = True,
        between: Callable[[], None] = lambda: None,
        webhook_secret: str | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.webhook_deadline = webhooks.DEADLINE_SECONDS
        self.sessions = sessions
        self.clock = clock
        # Each workspace's client (multi-workspace mode), or the one client.
        self.client_for: Callable[[str], WebClient | None] = (
            (lambda team: client) if isinstance(client, WebClient) else client
        )
        self.policy_for_case = policy_for_case
        self.bot_user_id = bot_user_id
        self.pacer = pacer or Pacer(clock, enabled=paced)
        self._seen = lookup.Seen()
        self.between = between
        # When the soonest row this pass left for its turn may go (the pass scheduler
        # books the next pass no later than that).
        self.next_turn: datetime | None = None

    def sibling(self) -> Deliverer:
        """A deliverer for a lane that runs in a thread of its own: the same Slack, the
        same limits spent, its own pass state."""
        twin = Deliverer(
            self.sessions,
            self.clock,
            self.client_for,
            self.policy_for_case,
            self.bot_user_id,
            between=self.between,
            webhook_secret=self.webhook_secret,
            pacer=self.pacer,
        )
        twin.webhook_deadline = self.webhook_deadline
        return twin

    def drain(self, limit: int = 1000, lane: Lane = Lane.ALL) -> int:
        """Send what is due now in `lane`, most urgent first (see bot.slack.queue);
        returns how many were delivered. A pass gives way after PASS_SECONDS, so pages
        written meanwhile go next rather than after a long backlog."""
        now = self.clock.now()
        plan = queue.Plan(queue.due(self.sessions, lane, limit), now)
        if lane != Lane.WEBHOOKS:  # the webhook lane's thread paces nothing, looks up nothing
            self._seen = lookup.Seen()
            self.next_turn = None
        started = time.monotonic()
        sent = 0
        for row in plan.rows:
            if time.monotonic() - started > PASS_SECONDS:
                self.next_turn = now
                break
            if plan.folded(row) or plan.waits(row):
                continue
            if row.next_at > now:
                plan.hold(row)
                continue
            members = plan.digest_for(row)
            method = POST if members else method_of(row.intent)
            wait = self.pacer.wait(row.team, method, row.channel)
            if plan.spares_only(row) and not self.pacer.idle(row.team, method, row.channel):
                # Room that changes people make are about to need is not room to spare.
                if plan.gives_up(row):
                    self._give_up(row.id)
                else:
                    self._turn_in(1.0)
                    plan.hold(row)
                continue
            if wait > 0:
                self._turn_in(wait)
                plan.hold(row)
                continue
            self.between()
            if members:
                sent += digests.send(self, members)
                continue
            before = self.claim(row.id)
            if before is None:
                plan.hold(row)  # another replica is sending it
                continue
            outcome = self.deliver(row.id, interrupted=before == OutboxStatus.SENDING)
            sent += outcome == Outcome.SENT
            if outcome == Outcome.DEFERRED:
                plan.hold(row)
        return sent

    def _give_up(self, row_id: int) -> None:
        with self.sessions.begin() as session:
            folding.give_up_refresh(session, self.clock.now(), row_id)

    def _turn_in(self, seconds: float) -> None:
        turn = self.clock.now() + timedelta(seconds=seconds)
        self.next_turn = turn if self.next_turn is None else min(self.next_turn, turn)

    def claim(self, row_id: int, fresh_only: bool = False) -> str | None:
        """Take the row for this process; returns the status it had (sending means an
        earlier claim never finished, which `fresh_only` refuses), or None if it is not
        ours to send."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            status = session.execute(
                select(OutboxMessage.status).where(OutboxMessage.id == row_id)
            ).scalar_one_or_none()
            if status not in ((OutboxStatus.PENDING,) if fresh_only else IN_FLIGHT):
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
                    .values(status=OutboxStatus.SENDING, next_attempt_at=now + LEASE)
                )
            )
            if won:
                row = session.get(OutboxMessage, row_id)
                if row is not None and row.intent in queue.FOLDED:
                    folding.fold_older(session, now, row)
            return status if won else None

    def load(self, row_id: int) -> tuple[Outgoing, str, bool, datetime]:
        """The row as its renderer meets it, its workspace, whether its last attempt went
        unanswered, and when it was written. Only database reads while the session holds
        its connection (the one connection, on SQLite)."""
        with self.sessions() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            data = dict(row.data or {})
            # A page step's message names its case itself: it goes out while `cases` is
            # locked.
            alone = row.intent in STEP_MESSAGES and isinstance(data.get("about"), dict)
            case = session.get(Case, row.case_id) if row.case_id and not alone else None
            policy = self.policy_for_case(session, case) if case is not None else None
            view = CaseView.of(case) if case is not None else None
            team = row.team_id
            unanswered = (row.last_error or "").startswith(UNANSWERED)
            outgoing = Outgoing(
                row.intent,
                row.channel_id,
                data,
                view,
                policy,
                lambda: self.bot_user_id(team),
                now=self.clock.now(),
            )
            return outgoing, team, unanswered, row.created_at

    def deliver(self, row_id: int, interrupted: bool = False) -> Outcome:
        """Send one row this process has claimed."""
        outgoing, team, unanswered, outgoing_since = self.load(row_id)
        intent, channel, view = outgoing.intent, outgoing.channel_id, outgoing.case
        # An earlier claim that never finished, or an attempt nobody answered.
        uncertain = interrupted or unanswered
        client = self.client_for(team)
        if client is None:
            # Uninstalled from that workspace: nothing can be said there any more; the row
            # stays, saying why.
            self.finish(row_id, OutboxStatus.SKIPPED, None, None, note=f"not installed in {team}")
            return Outcome.SKIPPED
        renderer = RENDERERS.get(intent)
        try:
            # Checked again on the way out: a renderer meets only the fields it expects.
            outgoing = replace(outgoing, payload=outbox.read(intent, outgoing.data))
            if renderer is None:
                raise ValueError(f"no renderer for outbox intent {intent!r}")
            method, kwargs = renderer(outgoing)
        except Skip as skip:
            self.finish(row_id, OutboxStatus.SKIPPED, None, None, note=str(skip) or None)
            return Outcome.SKIPPED
        except Exception as exc:
            return self.retry_or_fail(row_id, intent, team, channel, exc, method="render")
        if method == "chat.postMessage":
            kwargs["metadata"] = lookup.metadata(row_id)
            if uncertain:
                try:
                    found = lookup.find_posted(client, kwargs, row_id, outgoing_since, self._seen)
                except SlackApiError as exc:
                    if not is_transient(exc):
                        raise
                    # Rate limited or Slack failing while looking: posting now might post
                    # twice, so this row waits and looks again (a 429 waits as asked).
                    self.retry_or_fail(row_id, intent, team, channel, exc, method="lookup")
                    return Outcome.DEFERRED
                if found is not None:
                    self.finish(row_id, OutboxStatus.SENT, found, view)
                    OUTBOX_SENT.labels(intent).inc()
                    return Outcome.SENT
        return self._send(client, row_id, intent, team, channel, (method, kwargs), view)

    def _send(
        self,
        client: WebClient,
        row_id: int,
        intent: str,
        team: str,
        channel: str,
        call: ApiCall,
        view: CaseView | None,
    ) -> Outcome:
        method, kwargs = call
        if method not in (RESPONSE_URL, FILE_UPLOAD, WEBHOOK):
            self.pacer.spend(team, method, str(kwargs.get("channel") or channel))
        try:
            if method == RESPONSE_URL:
                answer = self._respond(kwargs)
            elif method == FILE_UPLOAD:
                upload = client.files_upload_v2(**kwargs)
                answer = {"ts": None, "channel": kwargs["channel"], "file": upload["file"]["id"]}
            elif method == WEBHOOK:
                url, body, secret = kwargs["url"], kwargs["body"], self.webhook_secret
                webhooks.post(url, body, secret, str(row_id), self.webhook_deadline)
                answer = {}
            else:
                resp = client.api_call(method, json=kwargs)
                answer = dict(resp.data) if isinstance(resp.data, dict) else {}
        except Exception as exc:
            return self.retry_or_fail(row_id, intent, team, channel, exc, method=method)
        kept = {"ts": answer.get("ts"), "channel": answer.get("channel")}
        if answer.get("file"):
            kept["file"] = answer["file"]
        self.finish(row_id, OutboxStatus.SENT, kept, view)
        OUTBOX_SENT.labels(intent).inc()
        return Outcome.SENT

    def _respond(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in kwargs.items() if k != "url"}
        resp = WebhookClient(kwargs["url"], timeout=10).send_dict(body)
        if resp.status_code >= 300:
            raise ResponseUrlError(resp.status_code, resp.body)
        return {}

    def finish(
        self,
        row_id: int,
        status: OutboxStatus,
        result: dict[str, Any] | None,
        case: CaseView | None,
        note: str | None = None,
    ) -> None:
        outcomes.finish(self.sessions, self.clock.now(), row_id, status, result, case, note)

    def retry_or_fail(
        self, row_id: int, intent: str, team: str, channel: str, exc: Exception, method: str
    ) -> Outcome:
        outcome, wait = outcomes.retry_or_fail(
            self.sessions, self.clock.now(), row_id, intent, exc, method
        )
        if wait is not None and method != "lookup":
            # This method waits there as Slack asks (a read's limit holds back only the row
            # that read).
            self.pacer.hold(team, method, channel, wait)
        return outcome
