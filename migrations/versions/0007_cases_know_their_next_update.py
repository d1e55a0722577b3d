"""Cases know when their next update is due (a severity's `targets.update_every`), for the
card and the reminders that wait in the outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both databases (see 0005). Cases of earlier releases had no update
    # cadence: none is due until their clocks are next recomputed.
    op.add_column("cases", sa.Column("next_update_due", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.execute("ALTER TABLE cases DROP COLUMN next_update_due")
