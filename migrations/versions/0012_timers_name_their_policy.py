"""A timer about no case may be about a policy: the weekly report a policy's own
`report_channel` gets

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both databases (see 0005). Earlier weekly timers are the one report
    # REPORT_CHANNEL gets: no policy.
    op.add_column("timers", sa.Column("policy_id", sa.String(100), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE timers DROP COLUMN policy_id")
