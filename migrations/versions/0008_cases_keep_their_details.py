"""Cases keep the details their requester or a responder gave in the intake form (a policy's
`intake.fields`), by field id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both databases (see 0005). Cases of earlier releases were asked for
    # nothing: no details.
    op.add_column("cases", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE cases DROP COLUMN details")
