"""On-call overrides belong to the workspace they were set in: its pages and handoffs follow
them, no other workspace's do

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both databases (see 0005). Overrides of earlier releases were set
    # before workspaces had their own on-call: "" keeps them applying wherever their
    # schedule is used, as they did.
    op.add_column(
        "oncall_overrides",
        sa.Column("team_id", sa.String(40), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_oncall_overrides_team", "oncall_overrides", ["team_id", "schedule", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_oncall_overrides_team", "oncall_overrides")
    op.execute("ALTER TABLE oncall_overrides DROP COLUMN team_id")
