"""The durable inbox: every request from Slack worth acting on is one row, committed before
the ack and processed after it. A crash between the two leaves a pending row that the next
drain picks up; a retried delivery hits the unique key and is a no-op."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.errors import is_transient_db
from bot.db.models import InboxEvent
from bot.db.ops import after_commit, rowcount
from bot.db.states import InboxStatus
from bot.logs import describe
from bot.metrics import INBOX_FAILED, INBOX_PARKED, INBOX_PROCESSED, INBOX_RECEIVED

log = logging.getLogger(__name__)

__all__ = ["after_commit"]  # for effects: count what they did once it has committed

MAX_ATTEMPTS = 12
# How long a claimed row is left to the worker that claimed it; if that worker dies, another
# takes the row over after this.
LEASE = timedelta(seconds=30)


# What says a handler's failure is worth retrying: the database's own, and whatever the
# layers above register (`retry_when`), e.g. the Web API's rate limits and outages.
_TRANSIENT: list[Callable[[BaseException], bool]] = [is_transient_db]


def retry_when(check: Callable[[BaseException], bool]) -> None:
    """Count failures `check` accepts as transient: the row is tried again later."""
    if check not in _TRANSIENT:
        _TRANSIENT.append(check)


class RetryLater(Exception):
    """A transient failure (Slack rate limit or outage): try the row again later, after
    `after` seconds when Slack said how long (a 429's Retry-After)."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


@dataclass(frozen=True)
class InboundRequest:
    kind: str
    team_id: str
    dedupe_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    team_id: str
    payload: dict[str, Any]
    attempts: int


# A handler first does its reads (Slack Web API calls, with no database transaction open),
# then returns the effects to apply. The effects run in the same transaction that marks the
# row done, so they commit together or not at all.
Effects = Callable[[Session], None]
Handler = Callable[[Row], Effects | None]


@functools.cache
def _sqlite_insert() -> Any:
    # Built once: the ack path runs it with fresh parameters on every batch. RETURNING lists
    # the rows actually inserted (a retry's conflicting row returns none), and lets
    # SQLAlchemy send a whole batch as one multi-row INSERT.
    table: Any = InboxEvent.__table__
    return (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )


def store_many(engine: Engine, clock: Clock, reqs: Sequence[InboundRequest]) -> int:
    """Commit inbound requests together on SQLite, in one transaction; returns how many were
    new, the rest being retries already stored. (PostgreSQL: `store_many_pg`.)"""
    now = clock.now()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for req in reqs:
        by_kind.setdefault(req.kind, []).append(
            {
                "dedupe_key": req.dedupe_key,
                "kind": req.kind,
                "team_id": req.team_id,
                "payload": req.payload,
                "received_at": now,
                "status": InboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for kind, rows in by_kind.items():
            counts[kind] = len(conn.execute(_sqlite_insert(), rows).all())
    _count_received([r.kind for r in reqs], counts)
    return sum(counts.values())


def store_many_pg(conn: Any, clock: Clock, reqs: Sequence[InboundRequest]) -> int:
    """`store_many` on a psycopg connection in autocommit mode, for the ack path's writer:
    one multi-row INSERT that commits on its own (one round trip instead of BEGIN, INSERT,
    COMMIT), without SQLAlchemy's execution machinery (a third of the client CPU per
    batch)."""
    now = clock.now()
    params: list[Any] = []
    for req in reqs:
        params += (req.dedupe_key, req.kind, req.team_id, Json(req.payload), now, now)
    with conn.cursor() as cur:
        cur.execute(_pg_insert_sql(len(reqs)), params)
        inserted = [kind for (kind,) in cur.fetchall()]
    counts: dict[str, int] = {}
    for kind in inserted:
        counts[kind] = counts.get(kind, 0) + 1
    _count_received([r.kind for r in reqs], counts)
    return len(inserted)


@functools.lru_cache(maxsize=256)
def _pg_insert_sql(rows: int) -> str:
    # Columns as in bot.db.models.InboxEvent; RETURNING only the rows actually inserted.
    row = "(%s, %s, %s, %s, %s, 'pending', 0, %s)"
    return (
        f"INSERT INTO {InboxEvent.__tablename__} (dedupe_key, kind, team_id, payload,"
        f" received_at, status, attempts, next_attempt_at) VALUES {', '.join([row] * rows)}"
        " ON CONFLICT (dedupe_key) DO NOTHING RETURNING kind"
    )


def _count_received(kinds: list[str], new: dict[str, int]) -> None:
    sent: dict[str, int] = {}
    for kind in kinds:
        sent[kind] = sent.get(kind, 0) + 1
    for kind, n in sent.items():
        INBOX_RECEIVED.labels(kind, "new").inc(new.get(kind, 0))
        INBOX_RECEIVED.labels(kind, "duplicate").inc(n - new.get(kind, 0))


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** min(attempts, 8)))


def claim(sessions: sessionmaker[Session], clock: Clock, row_id: int) -> datetime | None:
    """Take a due row for this worker for `LEASE`: of several workers reaching it, one does
    its Slack reads. Returns when the lease ends, or None if the row is not this worker's."""
    now = clock.now()
    with sessions.begin() as session:
        won = rowcount(
            session.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.id == row_id,
                    InboxEvent.status == InboxStatus.PENDING,
                    InboxEvent.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + LEASE)
            )
        )
    return now + LEASE if won else None


class Leases:
    """The rows this worker claimed and could not even record a failure for (the database
    went away mid-row). Once the database answers again the worker gives their leases back
    itself, so they are tried at once rather than when the lease runs out. A lease is given
    back only if it is still the one this worker took: no other worker can have the row."""

    def __init__(self) -> None:
        self._held: dict[int, datetime] = {}

    def keep(self, row_id: int, until: datetime) -> None:
        self._held[row_id] = until

    def give_back(self, sessions: sessionmaker[Session], now: datetime) -> int:
        if not self._held:
            return 0
        given = 0
        with sessions.begin() as session:
            for row_id, until in self._held.items():
                given += rowcount(
                    session.execute(
                        update(InboxEvent)
                        .where(
                            InboxEvent.id == row_id,
                            InboxEvent.status == InboxStatus.PENDING,
                            InboxEvent.next_attempt_at == until,
                        )
                        .values(next_attempt_at=now)
                    )
                )
        self._held.clear()
        return given


def process_one(
    sessions: sessionmaker[Session],
    clock: Clock,
    handlers: dict[str, Handler],
    row_id: int,
    leases: Leases | None = None,
) -> str:
    """Process one pending row; returns its new status."""
    lease = claim(sessions, clock, row_id)
    if lease is None:
        return "skipped"  # another worker has it, or it is not due
    try:
        return _process(sessions, clock, handlers, row_id)
    except Exception:
        # Not even the failure could be written: the database is away.
        if leases is not None:
            leases.keep(row_id, lease)
        raise


def _process(
    sessions: sessionmaker[Session], clock: Clock, handlers: dict[str, Handler], row_id: int
) -> str:
    with sessions() as session:
        found = session.get(InboxEvent, row_id)
        if found is None or found.status != InboxStatus.PENDING:
            return "skipped"
        row = Row(found.id, found.kind, found.team_id, found.payload, found.attempts)
    handler = handlers.get(row.kind)
    try:
        effects = handler(row) if handler is not None else None
        with sessions.begin() as session:
            if effects is not None:
                effects(session)
            # Conditional on still pending: if another replica finished it first, this
            # touches nothing and the whole transaction, effects included, rolls back.
            done = rowcount(
                session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.id == row_id, InboxEvent.status == InboxStatus.PENDING)
                    .values(
                        status=InboxStatus.DONE, processed_at=clock.now(), attempts=row.attempts + 1
                    )
                )
            )
            if not done:
                raise _AlreadyDone
    except _AlreadyDone:
        return "skipped"
    except Exception as exc:
        return _failed(sessions, clock, row_id, exc)
    INBOX_PROCESSED.labels(row.kind).inc()
    return "done"


class _AlreadyDone(Exception):
    pass


def _failed(sessions: sessionmaker[Session], clock: Clock, row_id: int, exc: Exception) -> str:
    """A transient failure is tried again with backoff; any other would fail the same way
    every time, so the row is parked at once (kept, visible, never retried on its own)."""
    transient = isinstance(exc, RetryLater) or any(check(exc) for check in _TRANSIENT)
    error = describe(exc)
    with sessions.begin() as session:
        row = session.get(InboxEvent, row_id)
        if row is None or row.status != InboxStatus.PENDING:
            return "skipped"
        row.attempts += 1
        row.last_error = error[:2000]
        if not transient:
            row.status = InboxStatus.PARKED
            INBOX_PARKED.labels(row.kind).inc()
            log.error("inbox row %s (%s) parked: %s", row_id, row.kind, error)
            log.debug("inbox row %s failed", row_id, exc_info=exc)
        elif row.attempts >= MAX_ATTEMPTS and not _rate_limited(exc):
            row.status = InboxStatus.FAILED
            INBOX_FAILED.labels(row.kind).inc()
            log.error("inbox row %s gave up after %s attempts: %s", row_id, row.attempts, error)
        elif _rate_limited(exc):
            # Rate limited: this row waits as long as Slack asked, the others go on.
            assert isinstance(exc, RetryLater) and exc.after is not None
            row.next_attempt_at = clock.now() + timedelta(seconds=exc.after)
        else:
            row.next_attempt_at = clock.now() + _backoff(row.attempts)
        return row.status


def _rate_limited(exc: Exception) -> bool:
    """Slack asked to wait: not a failure, so it never counts towards giving up."""
    return isinstance(exc, RetryLater) and exc.after is not None


def pending_ids(sessions: sessionmaker[Session], now: datetime, limit: int = 100) -> list[int]:
    with sessions() as session:
        return list(
            session.execute(
                select(InboxEvent.id)
                .where(InboxEvent.status == InboxStatus.PENDING, InboxEvent.next_attempt_at <= now)
                .order_by(InboxEvent.id)
                .limit(limit)
            ).scalars()
        )


def drain(
    sessions: sessionmaker[Session],
    clock: Clock,
    handlers: dict[str, Handler],
    between: Callable[[], None] = lambda: None,
    budget: float | None = None,
    leases: Leases | None = None,
) -> int:
    """Process every row due now, or as many as `budget` seconds allow (the timers and
    the outbox get their turn, and the next pass goes on); returns how many were handled.
    `leases` keeps the rows a pass lost the database on, given back at the next."""
    if leases is not None:
        leases.give_back(sessions, clock.now())
    handled = 0
    started = time.monotonic()
    while True:
        ids = pending_ids(sessions, clock.now())
        if not ids:
            return handled
        progressed = False
        for row_id in ids:
            if budget is not None and time.monotonic() - started > budget:
                return handled
            between()
            status = process_one(sessions, clock, handlers, row_id, leases)
            handled += status == "done"
            progressed |= status in ("done", "failed", "skipped")
        if not progressed:
            return handled
