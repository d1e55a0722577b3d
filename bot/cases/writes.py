"""The rows a change to a case writes beside it, in the caller's transaction: its
timeline entry, the outbox messages it causes, the App Home refreshes it asks for, and the
snapshot of the policy it was judged under. Every domain package writes through these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.db.models import Case, CaseEvent, InboxEvent, OutboxMessage, PolicySnapshot
from bot.db.ops import insert_ignore
from bot.db.states import InboxKind, InboxStatus, OutboxStatus
from bot.outbox import Intent
from bot.policies.policy import Policy


def record(
    session: Session,
    case: Case,
    now: datetime,
    actor: str,
    kind: str,
    source_event: str | None = None,
    **data: Any,
) -> None:
    record_about(session, case.id, now, actor, kind, source_event, **data)


def record_about(
    session: Session,
    case_id: int,
    now: datetime,
    actor: str,
    kind: str,
    source_event: str | None = None,
    **data: Any,
) -> None:
    """`record` for a caller that holds the case's id, not the case (a page step, which
    never reads `cases`)."""
    session.add(
        CaseEvent(
            case_id=case_id, at=now, actor=actor, kind=kind, data=data, source_event=source_event
        )
    )


def enqueue(
    session: Session,
    now: datetime,
    *,
    team_id: str,
    channel_id: str,
    intent: str,
    case: Case | None = None,
    case_id: int | None = None,
    dedupe_key: str | None = None,
    **data: Any,
) -> None:
    """An outbox row about `case` (or the case of `case_id`), or about none: `data` must be
    `intent`'s payload (bot.outbox), or this raises `PayloadError` before anything is
    written."""
    stored = outbox.check(intent, data)
    values = dict(
        team_id=team_id,
        channel_id=channel_id,
        intent=Intent(intent),
        case_id=case.id if case else case_id,
        data=stored,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    if dedupe_key is None:
        session.add(OutboxMessage(**values))
    else:
        insert_ignore(session, OutboxMessage.__table__, values)


def notify(
    session: Session,
    now: datetime,
    case: Case,
    intent: str,
    *,
    channel_id: str | None = None,
    dedupe_key: str | None = None,
    **data: Any,
) -> None:
    """An outbox row about a case, to its own channel unless another is given."""
    enqueue(
        session,
        now,
        team_id=case.team_id,
        channel_id=channel_id or case.channel_id,
        intent=intent,
        case=case,
        dedupe_key=dedupe_key,
        **data,
    )


def case_changed(session: Session, now: datetime, case: Case, by_clock: bool = False) -> None:
    """The case's state changed: its card is updated, and the App Home of its assignee and
    its requester is published again (as inbox work, once per person and instant however
    many changes the instant holds). A change `by_clock` (a target missed, announced in the
    thread and the channel already) refreshes the card when Slack has room for it."""
    notify(session, now, case, Intent.CASE_CARD_REFRESH if by_clock else Intent.CASE_CARD_UPDATE)
    for user in {case.assignee_id, case.requester_id} - {None}:
        insert_ignore(
            session,
            InboxEvent.__table__,
            dict(
                dedupe_key=f"home:{case.team_id}:{user}:{now.isoformat()}",
                kind=InboxKind.HOME,
                team_id=case.team_id,
                payload={"user": user},
                received_at=now,
                status=InboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
            ),
        )


def snapshot(session: Session, policy: Policy, now: datetime) -> None:
    insert_ignore(
        session,
        PolicySnapshot.__table__,
        dict(
            content_hash=policy.content_hash,
            policy_id=policy.id,
            content=policy.content,
            first_seen_at=now,
        ),
    )
