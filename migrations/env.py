"""Alembic environment: runs on the connection bot.db.migrate hands it, or on the URL in
DATABASE_URL when invoked as plain `alembic`."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from bot.db.engine import make_engine, normalise_url
from bot.db.slack_tables import schema

config = context.config
target_metadata = schema()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("DATABASE_URL", "sqlite:///escalation-bot.db")
    engine = make_engine(normalise_url(url))
    with engine.connect() as conn:
        _run(conn)


def run_migrations_offline() -> None:
    url = normalise_url(os.environ.get("DATABASE_URL", "sqlite:///escalation-bot.db"))
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
