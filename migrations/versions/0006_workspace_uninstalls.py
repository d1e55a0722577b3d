"""Single-workspace mode remembers an uninstall: the workspace's work stops, and readiness
says so, until a working token for it is configured again

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_uninstalls",
        sa.Column("team_id", sa.String(length=32), primary_key=True),
        # app_uninstalled or tokens_revoked
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_uninstalls")
