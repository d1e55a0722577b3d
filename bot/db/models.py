"""The schema. The database is the truth: inbound events, cases, their timeline, pending
timers and messages still to send are all rows, so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.db.states import CaseStatus, InboxStatus, OutboxStatus, PageStatus, TimerStatus

# SQLite has no BIGINT autoincrement; plain INTEGER is its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always hands back aware UTC datetimes,
    on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: pass an aware UTC instant")
        from datetime import UTC

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class InboxEvent(Base):
    """A request from Slack, committed before the ack and processed after it."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_inbox_dedupe"),
        Index("ix_inbox_pending", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # team + Slack's event_id for events; a digest of the body for other requests.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class CaseCounter(Base):
    """The last case number handed out in a workspace."""

    __tablename__ = "case_counters"

    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class PolicySnapshot(Base):
    """A policy exactly as it was when a case opened, keyed by its content hash."""

    __tablename__ = "policy_snapshots"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(100))
    content: Mapped[dict[str, Any]]
    first_seen_at: Mapped[datetime]


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "message_ts", name="uq_case_message"),
        UniqueConstraint("team_id", "number", name="uq_case_number"),
        Index("ix_cases_thread", "team_id", "channel_id", "thread_ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[str] = mapped_column(String(40))
    message_ts: Mapped[str] = mapped_column(String(40))
    # The thread the bot answers in: the message's own ts, or its parent's if it is a reply.
    thread_ts: Mapped[str] = mapped_column(String(40))
    requester_id: Mapped[str | None] = mapped_column(String(40))
    opened_by: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN)
    severity: Mapped[str] = mapped_column(String(40))
    policy_id: Mapped[str] = mapped_column(String(100))
    policy_hash: Mapped[str] = mapped_column(ForeignKey("policy_snapshots.content_hash"))
    opened_at: Mapped[datetime]
    first_response_due: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    first_response_by: Mapped[str | None] = mapped_column(String(40))
    next_response_due: Mapped[datetime | None]
    # When the update cadence (`targets.update_every`) wants the next responder message.
    next_update_due: Mapped[datetime | None]
    # Answers to the intake form, by field id (purged with the case's text).
    details: Mapped[dict[str, Any] | None]
    assignee_id: Mapped[str | None] = mapped_column(String(40))
    card_ts: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]
    # In a channel shared with another organisation (Slack Connect): what the bot posts
    # there leaves internal notes out.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def key(self) -> str:
        return f"CASE-{self.number}"


class CaseEvent(Base):
    """The case's audit timeline: who did what, when, from which Slack event."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign key on the tables paging writes (case_events, timers, outbox): a page goes
    # out while `cases` is locked (a migration, VACUUM FULL); cases are never deleted.
    case_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    source_event: Mapped[str | None] = mapped_column(String(200))


class Feedback(Base):
    """The requester's rating of a resolved case: one per case, however often pressed."""

    __tablename__ = "feedback"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[str] = mapped_column(String(40))
    rating: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class Timer(Base):
    """A moment the scheduler must act on, and what it is about: a `kind` of action
    ("reminder", "breach") on a `target` (the clock kind, e.g. "first_response") of the clock
    that started at `clock_start`, whose due instant was `target_due_at` when the timer was
    made. At `due_at` (the fire instant) it is checked against the case's clocks as they are
    then; one made stale by a later change is dropped, with the reason in `note`."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("case_id", "target", "kind", "due_at", name="uq_timer"),
        UniqueConstraint("key", name="uq_timer_key"),
        Index("ix_timers_due", "status", "due_at"),
        Index("ix_timers_page", "page_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None for a timer about no one case (an on-call handoff); such a timer has a `key`, so
    # replicas booking the same moment book it once.
    case_id: Mapped[int | None] = mapped_column(BigId)
    key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(40))
    clock_start: Mapped[datetime | None]
    target_due_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default=TimerStatus.PENDING)
    fired_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    # What a paging timer is about (its page, and its step of the chain), and a handoff's
    # schedule: read from here, never parsed back out of `target` or `key`, which keep their
    # text for the uniqueness rules.
    page_id: Mapped[int | None] = mapped_column(BigInteger)
    step: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[str | None] = mapped_column(String(100))
    # The policy a weekly report is for (its own `report_channel`); None: REPORT_CHANNEL's.
    policy_id: Mapped[str | None] = mapped_column(String(100))


class Page(Base):
    """Paging for a case: the escalation chain as it was when paging started (`plan`, so
    editing the policy does not change a page in flight), and how it ended. Status:
    "climbing" until someone acknowledges ("acknowledged") or the case is resolved or
    lowered out of a paging severity ("stopped")."""

    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_case", "case_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    chain: Mapped[str] = mapped_column(String(100))
    plan: Mapped[dict[str, Any]]
    started_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default=PageStatus.CLIMBING)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class OncallOverride(Base):
    """Someone covering a schedule from `starts_at` to `ends_at`, set with `/oncall override`;
    it wins over the schedule's layers and the policy file's overrides."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (
        Index("ix_oncall_overrides_schedule", "schedule", "ends_at"),
        Index("ix_oncall_overrides_team", "team_id", "schedule", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The workspace it was set in: only that workspace's pages and handoffs follow it ("" for
    # overrides set before workspaces had their own on-call: they apply everywhere).
    team_id: Mapped[str] = mapped_column(String(40), default="", server_default="")
    schedule: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class WorkspaceUninstall(Base):
    """Single-workspace mode: the workspace uninstalled the app or revoked its bot token.
    Its work stops (nothing is deleted) until a working token for it is configured."""

    __tablename__ = "workspace_uninstalls"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]


class OutboxMessage(Base):
    """A Web API write still to make, committed with the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
        Index("ix_outbox_pending", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(40))
    channel_id: Mapped[str] = mapped_column(String(40))
    # What to say, as an intent the Slack side renders: e.g. "case_card", "triage_notice".
    intent: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
