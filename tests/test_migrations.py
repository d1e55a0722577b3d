"""The migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.db import migrate
from bot.db.engine import make_engine
from bot.db.models import Base


def test_upgrade_matches_the_models_and_round_trips(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)  # a second start finds nothing to do
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        cfg = migrate._config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
