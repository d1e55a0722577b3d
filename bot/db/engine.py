"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for a bare `postgresql://` URL (psycopg2 is not a dependency)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # One connection per process: SQLite has one writer anyway, and threads queueing on
        # the pool wait in turn, where threads racing for SQLite's lock sleep in its busy
        # handler (up to 100 ms a try) and are served in no particular order.
        kw.setdefault("pool_size", 1)
        kw.setdefault("max_overflow", 0)
        kw.setdefault("pool_timeout", 30)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control from the driver so that BEGIN below is ours.
            dbapi_conn.isolation_level = None
            # WAL lets readers run beside the one writer; NORMAL sync is durable across
            # process crashes, which is the failure the inbox guards against.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # SQLite has one writer. Taking the write lock at BEGIN (waiting up to the busy
            # timeout) avoids the instant "database is locked" a read transaction gets when
            # it tries to write after another connection already has.
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")

        return engine
    # Enough connections for every request thread and the background jobs, so none is
    # opened and closed per request. Each checkout is tested first (one round trip), so a
    # connection cut by a database restart or an administrator is replaced before anyone
    # uses it: `/readyz` and the background work never fail on one. The inbox writer keeps a
    # connection of its own and retries once on a fresh one (bot/inbox_writer.py).
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 48)
    kw.setdefault("max_overflow", 8)
    kw.setdefault("pool_recycle", 1800)
    connect_args = kw.pop("connect_args", {"connect_timeout": 5})
    return create_engine(url, connect_args=connect_args, **kw)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
