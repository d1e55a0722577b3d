"""Reminders and breach alerts due together in one channel go out as one message listing
them, each with its case link and whom it is for: a burst costs the channel one post
instead of one each. New-case notices to a triage channel are listed the same way. An
alert bound for a case thread is announced by the digest and keeps its own thread line for
when the channel has room (bot.outbox.priorities, ECHOES); a line meant for the channel
itself is delivered by the digest."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import outbox
from bot.db.models import OutboxMessage
from bot.db.states import OutboxStatus
from bot.metrics import OUTBOX_SENT
from bot.outbox import Intent
from bot.slack import folding, lookup, render
from bot.slack.errors import is_transient
from bot.slack.intents import RENDERERS, TOO_LATE, Skip, reminder_deadline
from bot.slack.outcomes import Outcome
from bot.slack.pacing import POST
from bot.slack.queue import Row

if TYPE_CHECKING:
    from bot.slack.delivery import Deliverer

log = logging.getLogger(__name__)

# Entries in one digest: a heading and one section each stay under Slack's 50 blocks.
MAX_ENTRIES = 40
LEASE = timedelta(seconds=15)


# A section's text holds at most 3,000 characters; a digest line is far shorter.
SECTION_TEXT = 3000


def alerts_heading(count: int, missed: int) -> str:
    due = count - missed
    parts = [f"{missed} missed" if missed else "", f"{due} due soon" if due else ""]
    return f"*SLA alerts: {', '.join(p for p in parts if p)}*"


def new_cases_heading(count: int) -> str:
    return f"*{count} new cases*"


def render_digest(heading: str, lines: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """One message for several of the bot's lines to a channel: a line each, as its own
    section, under a heading that counts them."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": heading}}]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": line[:SECTION_TEXT]}}
        for line in lines
    ]
    return "\n".join([heading, *lines]), blocks


@dataclass(frozen=True)
class Entry:
    row_id: int
    intent: str
    line: str
    missed: bool
    # Announced here; its own line still goes to this thread.
    thread_ts: str | None
    # A reminder's due time, as stored.
    reminder_due: str | None = None


def send(d: Deliverer, members: list[Row]) -> int:
    """Post the digest of `members` (one channel's); returns how many alerts it carried."""
    carried = 0
    for start in range(0, len(members), MAX_ENTRIES):
        carried += _send_one(d, members[start : start + MAX_ENTRIES])
    return carried


def _send_one(d: Deliverer, members: list[Row]) -> int:
    team, channel = members[0].team, members[0].channel
    # Only rows still pending: one whose earlier claim never finished is looked up alone.
    claimed = [m.id for m in members if d.claim(m.id, fresh_only=True)]
    entries = [e for e in (_entry(d, row_id) for row_id in claimed) if e]
    client = d.client_for(team)
    if not entries:
        return 0
    if client is None:
        for e in entries:
            d.finish(e.row_id, OutboxStatus.SKIPPED, None, None, note=f"not installed in {team}")
        return 0
    # Checked again just before the post: a reminder must not reach Slack late.
    entries = [e for e in entries if _still_in_time(d, e)]
    if not entries:
        return 0
    if members[0].intent == Intent.TRIAGE_NOTICE:
        heading = new_cases_heading(len(entries))
    else:
        heading = alerts_heading(len(entries), sum(e.missed for e in entries))
    text, blocks = render_digest(heading, [e.line for e in entries])
    meta = lookup.metadata(entries[0].row_id)
    meta["event_payload"]["outbox_ids"] = [e.row_id for e in entries]
    args: dict[str, Any] = {
        "channel": channel,
        "text": text,
        "blocks": blocks,
        "metadata": meta,
        "unfurl_links": False,
    }
    d.pacer.spend(team, POST, channel)
    try:
        answer = client.api_call(POST, json=args)
    except Exception as exc:
        if isinstance(exc, SlackApiError) and not is_transient(exc):
            # Refused for good (one line Slack will not take, say): each line goes on its
            # own, so one bad row never sinks the others.
            log.warning("digest refused in %s (%s): its lines go one by one", channel, exc)
            return sum(d.deliver(e.row_id) == Outcome.SENT for e in entries)
        for e in entries:
            d.retry_or_fail(e.row_id, "digest", team, channel, exc, method=POST)
        return 0
    ts = answer.get("ts")
    now = d.clock.now()
    with d.sessions.begin() as session:
        for e in entries:
            _delivered(session, e, now, {"ts": ts, "channel": answer.get("channel")})
    for e in entries:
        if not e.thread_ts:
            OUTBOX_SENT.labels(e.intent).inc()
    OUTBOX_SENT.labels("digest").inc()
    log.info("digest of %d alerts posted in %s", len(entries), channel)
    return len(entries)


def _entry(d: Deliverer, row_id: int) -> Entry | None:
    """The row's line, or None when it has nothing to say any more (recorded as such)."""
    outgoing, team, _, _ = d.load(row_id)
    intent, data = outgoing.intent, outgoing.data
    try:
        outgoing = replace(outgoing, payload=outbox.read(intent, data))
        RENDERERS[intent](outgoing)  # what it checks at send (a reminder still true)
        case_view, case_policy = outgoing.need_case()
        if intent == Intent.TRIAGE_NOTICE:
            line = render.triage_notice(case_view)
        else:
            line = render.sla_message(case_view, case_policy, intent, data, linked=True)
    except Skip as skip:
        d.finish(row_id, OutboxStatus.SKIPPED, None, None, note=str(skip) or None)
        return None
    except Exception as exc:
        d.retry_or_fail(row_id, intent, team, outgoing.channel_id, exc, method="render")
        return None
    missed = intent == Intent.BREACH_ALERT
    due = data.get("due_at") if intent == Intent.SLA_REMINDER else None
    return Entry(row_id, intent, line, missed, data.get("thread_ts"), due)


def _still_in_time(d: Deliverer, e: Entry) -> bool:
    if e.reminder_due is None or d.clock.now() < reminder_deadline(e.reminder_due):
        return True
    d.finish(e.row_id, OutboxStatus.SKIPPED, None, None, note=TOO_LATE)
    return False


def _delivered(session: Session, e: Entry, now: Any, result: dict[str, Any]) -> None:
    row = session.get(OutboxMessage, e.row_id)
    assert row is not None
    row.attempts += 1
    if e.thread_ts:
        # Announced; the thread line follows when the channel has room.
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now
    else:
        row.status = OutboxStatus.SENT
        row.result = result
    row.sent_at = now
    folding.drop_overtaken(session, now, row)
