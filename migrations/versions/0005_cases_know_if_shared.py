"""Cases know whether their channel is shared with another organisation (Slack Connect), so
what the bot posts there leaves internal notes out

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both databases: recreating `cases` (SQLite's batch mode) would trip
    # the foreign keys that point at it. Cases of earlier releases were not known to be
    # shared: false.
    op.add_column(
        "cases",
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE cases DROP COLUMN shared")
