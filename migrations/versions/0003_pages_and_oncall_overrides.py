"""Pages: a case's escalation chain, frozen when paging starts, and who acknowledged it;
on-call overrides stored at run time; timers that belong to no case (handoffs) carry a
unique key instead

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("chain", sa.String(length=100), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pages_case", "pages", ["case_id", "status"])
    op.create_table(
        "oncall_overrides",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oncall_overrides_schedule", "oncall_overrides", ["schedule", "ends_at"])
    with op.batch_alter_table("timers") as batch:
        batch.alter_column("case_id", existing_type=BigId, nullable=True)
        batch.add_column(sa.Column("key", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_timer_key", ["key"])


def downgrade() -> None:
    op.execute("DELETE FROM timers WHERE case_id IS NULL")
    with op.batch_alter_table("timers") as batch:
        batch.drop_constraint("uq_timer_key", type_="unique")
        batch.drop_column("key")
        batch.alter_column("case_id", existing_type=BigId, nullable=False)
    op.drop_index("ix_oncall_overrides_schedule", table_name="oncall_overrides")
    op.drop_table("oncall_overrides")
    op.drop_index("ix_pages_case", table_name="pages")
    op.drop_table("pages")
