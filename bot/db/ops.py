"""Small dialect-aware statements shared by the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.db.models import Base, CaseCounter


def insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT that does nothing when a unique key already holds the row.
    Returns whether a row was inserted. The unique key, not a prior SELECT, is what makes
    a second attempt (a retried event, another replica) a no-op."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - other databases are not supported
        stmt = insert(table).values(**values)
    # RETURNING, not the row count: psycopg reports -1 for an INSERT .. ON CONFLICT.
    keys = list(table.primary_key.columns)
    return session.execute(stmt.returning(*keys)).first() is not None


def next_case_number(session: Session, team_id: str) -> int:
    """Hand out the next case number of a workspace. The counter row is locked until the
    transaction ends, so concurrent openers get distinct numbers and a rolled-back open
    leaves no gap."""
    table = CaseCounter.__table__
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        mod.insert(table)
        .values(team_id=team_id, last_number=1)
        .on_conflict_do_update(
            index_elements=["team_id"], set_={"last_number": table.c.last_number + 1}
        )
        .returning(table.c.last_number)
    )
    return int(session.execute(stmt).scalar_one())


def rowcount(result: Any) -> int:
    """Rows an INSERT/UPDATE touched (typed loosely: Result hides CursorResult's attribute)."""
    return int(result.rowcount)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once `session`'s transaction commits, never if it rolls back: a
    metric counted inside a transaction that a second worker's copy loses would count
    twice."""
    event.listen(session, "after_commit", lambda _session: callback(), once=True)


class Busy:
    """What `lock_unless_busy` returns when another transaction holds the lock."""


BUSY = Busy()
LOCK_NOT_AVAILABLE = "55P03"


def lock_unless_busy(
    session: Session, model: type[Base], ident: Any, seconds: float
) -> Base | Busy | None:
    """The row of `model` with key `ident`, locked for this transaction (None if there is
    none); BUSY when it, or its whole table, stays locked elsewhere for `seconds`
    (PostgreSQL: a migration's ALTER, VACUUM FULL). On SQLite this transaction already
    holds the one write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return session.get(model, ident, with_for_update=True)
    before = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    try:
        with session.begin_nested():
            session.execute(
                text("SELECT set_config('lock_timeout', :wait, true)"),
                {"wait": f"{max(1, int(seconds * 1000))}ms"},
            )
            row = session.get(model, ident, with_for_update=True)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return BUSY
        raise
    # Kept past the savepoint otherwise: the rest of the transaction waits as it would have.
    session.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": before})
    return row
