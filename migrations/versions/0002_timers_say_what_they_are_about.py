"""Timers say what they are about: the target, its clock and due instant, and why one was
dropped; cases say who gave the first response and who is assigned; requesters' feedback

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("target", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("clock_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("target_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.drop_constraint("uq_timer", type_="unique")
    # The previous release wrote kind as "<target>:<what>"; a breach fired at its due time.
    timers = sa.table(
        "timers",
        sa.column("id", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("target", sa.String()),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("target_due_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(timers.c.id, timers.c.kind, timers.c.due_at)).all():
        target, sep, what = str(row.kind).partition(":")
        if not sep:
            continue
        conn.execute(
            timers.update()
            .where(timers.c.id == row.id)
            .values(
                target=target,
                kind=what,
                target_due_at=row.due_at if what == "breach" else None,
            )
        )
    with op.batch_alter_table("timers") as batch:
        batch.create_unique_constraint("uq_timer", ["case_id", "target", "kind", "due_at"])
    # A plain ALTER on both databases: recreating `cases` (SQLite's batch mode) would trip
    # the foreign keys that point at it.
    op.add_column("cases", sa.Column("first_response_by", sa.String(length=40), nullable=True))
    op.add_column("cases", sa.Column("assignee_id", sa.String(length=40), nullable=True))
    op.add_column("cases", sa.Column("next_response_due", sa.DateTime(timezone=True)))
    op.create_table(
        "feedback",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.execute("ALTER TABLE cases DROP COLUMN next_response_due")
    op.execute("ALTER TABLE cases DROP COLUMN assignee_id")
    op.execute("ALTER TABLE cases DROP COLUMN first_response_by")
    timers = sa.table(
        "timers",
        sa.column("id", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("target", sa.String()),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(timers.c.id, timers.c.kind, timers.c.target)).all():
        if row.target:
            conn.execute(
                timers.update().where(timers.c.id == row.id).values(kind=f"{row.target}:{row.kind}")
            )
    with op.batch_alter_table("timers") as batch:
        batch.drop_constraint("uq_timer", type_="unique")
        batch.create_unique_constraint("uq_timer", ["case_id", "kind", "due_at"])
        batch.drop_column("note")
        batch.drop_column("target_due_at")
        batch.drop_column("clock_start")
        batch.drop_column("target")
