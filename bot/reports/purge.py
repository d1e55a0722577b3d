"""Forget what people wrote, and who they were, once a case has been resolved long enough;
keep every instant, severity, status, timer and rating, so reports do not change.

For each case resolved (and still resolved) before the cutoff:

- the case's message text, permalink, intake details and people (requester, opener, first
  responder, assignee) are blanked: a Slack user id names a person as surely as a name does;
- its timeline keeps each entry's kind, instant and the data the clocks and reports read
  (severities, policy, ratings, targets, due times, references to timers and pages); notes,
  reasons and people go, and an entry's actor too unless it is the bot;
- its feedback keeps the rating and loses the comment and who gave it;
- its pages lose who acknowledged them, and its outbox rows what they said.

Beyond those cases, transport rows older than the cutoff (and at least a day old, past
Slack's retries) lose whatever they were about, since an inbox payload cannot be tied to a
case reliably: Slack requests the inbox has processed lose their payload and their dedupe
key (which may name a person), outbox messages no longer in flight their data, dedupe key
and, for a direct message, the person it went to. Their kinds, statuses and instants stay.
Work not yet done is never touched. Running it again changes nothing more.

Multi-workspace mode's install records go too: the OAuth states that have expired, and the
installations of workspaces (or organisations) uninstalled before a cutoff of their own,
which kept who installed the app and when, without their tokens, since the uninstall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, column, delete, func, literal, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from bot.db.models import (
    Case,
    CaseEvent,
    Feedback,
    InboxEvent,
    OncallOverride,
    OutboxMessage,
    Page,
    Timer,
    WorkspaceUninstall,
)
from bot.db.ops import rowcount
from bot.db.states import IN_FLIGHT, CaseEventKind, CaseStatus, InboxStatus
from bot.oncall.paging import SYSTEM  # the actor of the bot's own timeline entries

# Timeline data that holds no one's words or identity.
_KEPT = frozenset(
    {
        "severity",
        "policy",
        "policy_hash",
        "rating",
        "target",
        "due_at",
        "fired_at",
        "page",
        "chain",
        "timer",
        "timer_kind",
        "ts",
    }
)
# `old` and `new` are severities here (but people in "assigned").
_KEPT_BY_KIND = {"severity_changed": frozenset({"old", "new"})}
_RETRIES = timedelta(days=1)
_PURGED = "purged:"
# slack-sdk's install tables (bot/db/slack_tables.py), named here without its library.
_STATES = sql_table("slack_oauth_states", column("expire_at"))
_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
_INSTALLATIONS = sql_table(
    "slack_installations",
    *(column(c) for c in ("enterprise_id", "team_id", "is_enterprise_install", *_TOKENS)),
)


@dataclass(frozen=True)
class Purged:
    cutoff: datetime
    cases: int
    events: int
    feedback: int
    outbox: int
    inbox: int
    # Expired OAuth states deleted, and installations of workspaces uninstalled before
    # `uninstalled_cutoff`.
    states: int = 0
    installations: int = 0
    uninstalled_cutoff: datetime | None = None


def purge(
    session: Session,
    now: datetime,
    older_than: timedelta,
    uninstalled_before: timedelta | None = None,
) -> Purged:
    """Purge cases resolved before `now - older_than`, and installations of workspaces
    uninstalled before `now - uninstalled_before` (default: `older_than`), in the caller's
    transaction. The counts are of rows changed by this run."""
    cutoff = now - older_than
    gone = now - (older_than if uninstalled_before is None else uninstalled_before)
    states, installations = purge_installs(session, now, gone)
    ids = resolved_before(session, cutoff)
    cases = events = feedback = outbox = 0
    for chunk in _chunks(ids):
        cases += sum(map(_blank_case, _rows(session, Case, Case.id, chunk)))
        events += sum(map(_blank_event, _rows(session, CaseEvent, CaseEvent.case_id, chunk)))
        feedback += sum(map(_blank_feedback, _rows(session, Feedback, Feedback.case_id, chunk)))
        for page in _rows(session, Page, Page.case_id, chunk):
            page.acknowledged_by = None
        # Why a timer was dropped can name a person ("acknowledged by U..."); no figure
        # reads it.
        session.execute(
            update(Timer)
            .where(Timer.case_id.in_(chunk), Timer.note.is_not(None))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        outbox += _blank_outbox(session, OutboxMessage.case_id.in_(chunk))
    # Who covered a schedule, and who set it, once the cover is long over.
    session.execute(
        update(OncallOverride)
        .where(OncallOverride.ends_at < cutoff, OncallOverride.user_id != "")
        .values(user_id="", created_by="")
        .execution_options(synchronize_session=False)
    )
    # Slack retries a request for minutes: its inbox key must outlive that.
    transport = min(cutoff, now - _RETRIES)
    outbox += _blank_outbox(session, OutboxMessage.created_at < transport)
    inbox = session.execute(
        update(InboxEvent)
        .where(InboxEvent.received_at < transport, InboxEvent.status != InboxStatus.PENDING)
        .where(or_(_filled(InboxEvent.payload), ~InboxEvent.dedupe_key.startswith(_PURGED)))
        .values(payload={}, dedupe_key=literal(_PURGED) + cast(InboxEvent.id, String))
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return Purged(
        cutoff, cases, events, feedback, outbox, rowcount(inbox), states, installations, gone
    )


def purge_installs(
    session: Session, now: datetime, uninstalled_before: datetime
) -> tuple[int, int]:
    """Delete the OAuth states expired at `now` and the installations of workspaces
    uninstalled before `uninstalled_before`: (states, installations) deleted."""
    # slack-sdk stores naive UTC instants.
    naive = now.astimezone(UTC).replace(tzinfo=None)
    states = rowcount(session.execute(delete(_STATES).where(_STATES.c.expire_at < naive)))
    keys = list(
        session.execute(
            select(WorkspaceUninstall.team_id).where(WorkspaceUninstall.at < uninstalled_before)
        ).scalars()
    )
    t = _INSTALLATIONS.c
    installations = 0
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        done = session.execute(
            delete(_INSTALLATIONS).where(
                or_(
                    and_(t.team_id.in_(chunk), t.is_enterprise_install.is_(False)),
                    and_(t.enterprise_id.in_(chunk), t.is_enterprise_install.is_(True)),
                ),
                # A reinstall since brought tokens back: not this one's to remove.
                *(t[name].is_(None) for name in _TOKENS),
            )
        )
        installations += rowcount(done)
    return states, installations


def resolved_before(session: Session, cutoff: datetime) -> list[int]:
    """Cases resolved now whose latest resolution was before `cutoff`."""
    last = (
        select(CaseEvent.case_id, func.max(CaseEvent.at).label("at"))
        .where(CaseEvent.kind == CaseEventKind.RESOLVED)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    query = (
        select(Case.id)
        .join(last, last.c.case_id == Case.id)
        .where(Case.status == CaseStatus.RESOLVED, last.c.at < cutoff)
        .order_by(Case.id)
    )
    return [int(i) for i in session.execute(query).scalars()]


def _rows(session: Session, model: Any, column: Any, ids: Sequence[int]) -> list[Any]:
    return list(session.execute(select(model).where(column.in_(ids))).scalars())


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    # Bounded IN lists: SQLite caps the number of bound parameters.
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _blank_case(case: Case) -> bool:
    before = (
        case.text,
        case.permalink,
        case.requester_id,
        case.opened_by,
        case.first_response_by,
        case.assignee_id,
        case.details,
    )
    case.text, case.permalink, case.requester_id, case.opened_by = "", None, None, ""
    case.first_response_by, case.assignee_id, case.details = None, None, None
    return before != ("", None, None, "", None, None, None)


def _blank_event(event: CaseEvent) -> bool:
    kept = _KEPT | _KEPT_BY_KIND.get(event.kind, frozenset())
    data = {k: v for k, v in event.data.items() if k in kept}
    actor = event.actor if event.actor == SYSTEM else ""
    if data == event.data and actor == event.actor:
        return False
    event.data, event.actor = data, actor
    return True


def _blank_feedback(feedback: Feedback) -> bool:
    if feedback.comment is None and feedback.user_id == "":
        return False
    feedback.comment, feedback.user_id = None, ""
    return True


def _blank_outbox(session: Session, which: Any) -> int:
    # A direct message's channel is the person it went to; some keys name people too.
    person = or_(OutboxMessage.channel_id.startswith("U"), OutboxMessage.channel_id.startswith("W"))
    done = session.execute(
        update(OutboxMessage)
        .where(which, OutboxMessage.status.not_in(IN_FLIGHT))
        .where(or_(_filled(OutboxMessage.data), OutboxMessage.dedupe_key.is_not(None), person))
        .values(
            data={},
            dedupe_key=None,
            channel_id=sql_case((person, ""), else_=OutboxMessage.channel_id),
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(done)


def _filled(column: Any) -> Any:
    # Already-purged rows hold "{}" on both databases: a second run skips them in SQL.
    return cast(column, String) != "{}"
