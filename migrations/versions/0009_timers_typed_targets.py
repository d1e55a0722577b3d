"""Timers say what they are about in typed columns: a paging timer its page and step, a
handoff its schedule, instead of text in `target` and `key` that was parsed back

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs on both databases (see 0005).
    op.add_column("timers", sa.Column("page_id", sa.BigInteger(), nullable=True))
    op.add_column("timers", sa.Column("step", sa.Integer(), nullable=True))
    op.add_column("timers", sa.Column("schedule", sa.String(100), nullable=True))
    op.create_index("ix_timers_page", "timers", ["page_id"])
    # The timers of earlier releases: "<page id>/<step>" for a step, "<page id>" for a
    # re-page, "handoff:<schedule>:<instant>" as a handoff's key.
    conn = op.get_bind()
    timers = sa.table(
        "timers",
        sa.column("id", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("target", sa.String()),
        sa.column("key", sa.String()),
        sa.column("page_id", sa.BigInteger()),
        sa.column("step", sa.Integer()),
        sa.column("schedule", sa.String()),
    )
    rows = conn.execute(
        sa.select(timers.c.id, timers.c.kind, timers.c.target, timers.c.key).where(
            timers.c.kind.in_(("page_step", "repage", "handoff"))
        )
    ).all()
    for timer_id, kind, target, key in rows:
        if kind == "handoff":
            name = (key or "").removeprefix("handoff:").split(":", 1)[0]
            values = {"schedule": name or None}
        else:
            page, _, step = (target or "").partition("/")
            values = {
                "page_id": int(page) if page.isdigit() else None,
                "step": int(step) if step.isdigit() else (0 if kind == "repage" else None),
            }
        conn.execute(sa.update(timers).where(timers.c.id == timer_id).values(**values))


def downgrade() -> None:
    op.drop_index("ix_timers_page", "timers")
    for column in ("schedule", "step", "page_id"):
        op.execute(f"ALTER TABLE timers DROP COLUMN {column}")
