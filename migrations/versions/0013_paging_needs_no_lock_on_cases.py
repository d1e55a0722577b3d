"""The tables a page step writes (case_events, timers, outbox) no longer hold a foreign key to
`cases`: checking one takes a lock on `cases`, so while `cases` was locked (a migration's
ALTER, VACUUM FULL) no page could go out. Cases are never deleted, so no row is orphaned.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("case_events", "timers", "outbox")
# SQLite keeps these keys unnamed; reflected through this convention they get a name the
# batch copy can drop.
CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        if conn.dialect.name == "sqlite":
            with op.batch_alter_table(table, naming_convention=CONVENTION) as batch:
                batch.drop_constraint(f"fk_{table}_case_id_cases", type_="foreignkey")
            continue
        for fk in sa.inspect(conn).get_foreign_keys(table):
            if fk["referred_table"] == "cases" and fk["name"]:
                op.drop_constraint(fk["name"], table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"{table}_case_id_fkey", "cases", ["case_id"], ["id"])
