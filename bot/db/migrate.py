"""Schema migrations to head, safe when several replicas start at once."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

import migrations

# An arbitrary constant: the PostgreSQL advisory lock every replica takes while migrating.
_MIGRATION_LOCK_ID = 0x65736362  # "escb"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return cfg


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once per process: reading means loading every one."""
    return ScriptDirectory.from_config(_config())


def head_revision() -> str | None:
    """The newest migration this code ships."""
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    if current_revision(engine) == head_revision():
        return  # already current (every start but the first after a release)
    cfg = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends, so a second replica waits, then finds head.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = conn
        # What alembic's `command.upgrade(cfg, "head")` does, with the scripts already read.
        scripts = _scripts()
        with EnvironmentContext(
            cfg,
            scripts,
            fn=lambda rev, _context: scripts._upgrade_revs("head", rev),
            destination_rev="head",
        ):
            scripts.run_env()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
