"""Databases for the suite: a fresh SQLite file, or a fresh PostgreSQL schema, per test, so
runs never see each other's rows."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_required() -> bool:
    """In CI a PostgreSQL test that cannot run is a failure, never a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("REQUIRE_POSTGRES") == "1"


def _pg_unavailable(reason: str) -> None:
    msg = f"PostgreSQL at {PG_ADMIN_URL} is not usable: {reason}"
    if postgres_required():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


# The system catalogs every schema's tables are written to. Each test creates a schema and
# drops it, and a server without autovacuum (as a test server may be) keeps every dead row:
# after a few thousand tests each catalog lookup wades through millions of them.
_CATALOGS = (
    "pg_attribute",
    "pg_class",
    "pg_depend",
    "pg_type",
    "pg_index",
    "pg_constraint",
    "pg_attrdef",
    "pg_sequence",
)
_VACUUMED: list[bool] = []


def _vacuum_catalogs(admin: Engine) -> None:
    """Once per test process: clear the dead catalog rows earlier runs left."""
    if _VACUUMED:
        return
    _VACUUMED.append(True)
    catalogs = ", ".join(f"pg_catalog.{c}" for c in _CATALOGS)
    # Only a speed-up: a server that will not (another owner, a read replica) is no failure.
    with (
        contextlib.suppress(Exception),
        admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
    ):
        conn.execute(text(f"VACUUM {catalogs}"))


_ADMIN: list[Engine] = []


def _admin() -> Engine:
    """One pool of connections per process for making and dropping schemas: a connection
    costs the server a process of its own, two per test otherwise."""
    if not _ADMIN:
        # Tested before use: a test may cut every connection to the server.
        _ADMIN.append(
            create_engine(PG_ADMIN_URL, pool_pre_ping=True, connect_args={"connect_timeout": 3})
        )
    return _ADMIN[0]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new schema in the shared test database; the URL selects it by search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = _admin()
        _vacuum_catalogs(admin)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is down or refuses us
        _pg_unavailable(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    try:
        # Its connections carry the schema's name too, so a test that cuts its own
        # connections (a database restart) never cuts another test's running beside it.
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _schema_of(url: str) -> str:
    """The schema a URL of `postgres_schema` works in."""
    return url.rsplit("application_name=", 1)[1]


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        with postgres_schema() as url:
            yield url


def quiet(url: str) -> bool:
    """Nothing left that could still reach Slack: no inbox row waiting or claimed, no outbox
    row waiting or being sent (a lease), no timer due but not fired. Counting after this
    proves "no duplicate follows" without guessing how long one would take."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.models import InboxEvent, OutboxMessage, Timer

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            busy = (
                select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "pending"),
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending"))),
                select(func.count())
                .select_from(Timer)
                .where(Timer.status == "pending", Timer.due_at <= datetime.now(UTC)),
            )
            return all(s.execute(q).scalar_one() == 0 for q in busy)
    finally:
        engine.dispose()


_MIGRATED: dict[str, Path] = {}


def start_migrated(url: str) -> None:
    """A database about to be created for a running bot starts as one migrated to head in
    this process, instead of running every migration again: the same schema
    (tests/test_migrations.py proves the migrations build it), a fraction of the time. A
    SQLite file is a copy of one migrated; a fresh PostgreSQL schema gets the statements a
    migration of another wrote, in one round trip."""
    if url.startswith("sqlite:///"):
        _start_sqlite(Path(url.removeprefix("sqlite:///")))
    elif url.startswith("postgresql"):
        _start_postgres(url)


def _start_sqlite(target: Path) -> None:
    if target.exists():
        return
    template = _MIGRATED.get("sqlite")
    if template is None:
        from bot.db import migrate
        from bot.db.engine import make_engine

        template = Path(tempfile.mkdtemp(prefix="migrated-")) / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        migrate.upgrade(engine)
        engine.dispose()
        _MIGRATED["sqlite"] = template
    shutil.copyfile(template, target)


_PG_SCRIPT: list[str] = []


def _start_postgres(url: str) -> None:
    with _admin().begin() as conn:
        conn.exec_driver_sql(f'SET LOCAL search_path TO "{_schema_of(url)}"')
        tables = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
        ).scalar_one()
        if tables == 0:
            conn.exec_driver_sql(_postgres_script())


def _postgres_script() -> str:
    """What migrating an empty schema to head writes, recorded once per process: every
    statement but the migrations' reads (of tables that are empty, so nothing follows from
    them), in order."""
    if _PG_SCRIPT:
        return _PG_SCRIPT[0]
    from sqlalchemy import event

    from bot.db import migrate

    written: list[str] = []
    with postgres_schema() as scratch:
        engine = create_engine(scratch)
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()

        @event.listens_for(engine, "before_cursor_execute")
        def record(_conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                return
            # Plain SQL, nothing bound and no schema named, so it can be sent again as it is.
            assert not params, f"a migration statement with parameters: {statement}"
            assert schema not in statement, f"a migration statement naming its schema: {statement}"
            written.append(statement)

        migrate.upgrade(engine)
        engine.dispose()
    _PG_SCRIPT.append(";\n".join(written))
    return _PG_SCRIPT[0]


_KEPT = contextlib.ExitStack()
atexit.register(_KEPT.close)


def kept_database(kind: str) -> str:
    """A new database of `kind` that lasts until this process ends: a template to copy."""
    folder = Path(tempfile.mkdtemp(prefix="kept-"))
    _KEPT.callback(shutil.rmtree, folder, ignore_errors=True)
    return _KEPT.enter_context(database(kind, folder))


def copy_database(template: str, url: str) -> None:
    """Make `url`, a SQLite file not yet created or a new PostgreSQL schema, a copy of
    `template` (migrated to head), rows and sequence positions alike. The template must be
    done with: no connection to it open."""
    if url.startswith("sqlite:///"):
        source = template.removeprefix("sqlite:///")
        target = url.removeprefix("sqlite:///")
        assert not Path(target).exists(), target
        shutil.copyfile(source, target)
        if Path(f"{source}-wal").exists():  # not yet checkpointed: part of the database
            shutil.copyfile(f"{source}-wal", f"{target}-wal")
        return
    start_migrated(url)
    with _admin().begin() as conn:
        conn.exec_driver_sql(f'SET LOCAL search_path TO "{_schema_of(url)}"')
        conn.exec_driver_sql(_copy_script(template))


_COPY_SCRIPTS: dict[str, str] = {}


def _copy_script(template: str) -> str:
    """The statements that copy the rows of `template`'s schema into the current one: each
    table's in foreign-key order, then each sequence's position."""
    script = _COPY_SCRIPTS.get(template)
    if script is not None:
        return script
    from bot.db.slack_tables import schema as whole_schema

    engine = create_engine(template)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            sequences = conn.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences"
                    " WHERE schemaname = :schema AND last_value IS NOT NULL"
                ),
                {"schema": schema},
            ).all()
    finally:
        engine.dispose()
    statements = [
        f'INSERT INTO "{t.name}" SELECT * FROM "{schema}"."{t.name}"'
        for t in whole_schema().sorted_tables
    ]
    statements += [f"SELECT setval('\"{name}\"', {int(last)})" for name, last in sequences]
    script = _COPY_SCRIPTS[template] = ";\n".join(statements)
    return script
