"""Workspace tokens at rest: the tokens in slack-sdk's installation tables are encrypted with
TOKEN_ENCRYPTION_KEY (Fernet, the first of its keys) when it is set at migration time, and
the rows a reinstall superseded (earlier releases kept them) are deleted

Without the key the tokens stay as they are; the bot encrypts them when it starts with a key
(bot/slack/installations.py). Downgrading decrypts them, and needs the key to.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
# One installation per workspace, or per organisation when org-wide.
_SAME = ("client_id", "enterprise_id", "team_id", "is_enterprise_install")


def _keys() -> list[str]:
    from bot.settings import load_settings

    secret = load_settings().token_encryption_key
    if secret is None:
        return []
    return [k.strip() for k in secret.get_secret_value().split(",") if k.strip()]


def _drop_superseded(conn: sa.Connection, table: str) -> None:
    # The newest row of each installation stays (by installed_at, then id).
    rows = conn.execute(
        sa.text(f"SELECT id, {', '.join(_SAME)}, installed_at FROM {table} ORDER BY id")
    ).mappings()
    newest: dict[tuple[Any, ...], tuple[Any, int]] = {}
    older: list[int] = []
    for row in rows:
        same = tuple(row[c] for c in _SAME)
        kept = newest.get(same)
        mine = (row["installed_at"], row["id"])
        if kept is None:
            newest[same] = mine
            continue
        older.append(min(kept, mine)[1])
        newest[same] = max(kept, mine)
    for row_id in older:
        conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": row_id})


def _rewrite(conn: sa.Connection, change: Any) -> None:
    for table, columns in TOKENS.items():
        rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).mappings()
        for row in list(rows):
            values = {c: change(row[c]) for c in columns if row[c]}
            values = {c: v for c, v in values.items() if v != row[c]}
            if values:
                sets = ", ".join(f"{c} = :{c}" for c in values)
                conn.execute(
                    sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"),
                    {**values, "id": row["id"]},
                )


def upgrade() -> None:
    conn = op.get_bind()
    _drop_superseded(conn, "slack_installations")
    _drop_superseded(conn, "slack_bots")
    keys = _keys()
    if not keys:
        return
    from cryptography.fernet import Fernet

    first = Fernet(keys[0].encode())

    def seal(value: str) -> str:
        if not value.startswith("xox"):
            return value  # already sealed
        sealed = first.encrypt(value.encode()).decode()
        if len(sealed) > 200:
            raise RuntimeError(f"a {len(value)}-character token is too long to encrypt")
        return sealed

    _rewrite(conn, seal)


def downgrade() -> None:
    conn = op.get_bind()
    keys = _keys()
    if not keys:

        def refuse(value: str) -> str:
            if value.startswith("xox"):
                return value
            raise RuntimeError("TOKEN_ENCRYPTION_KEY is needed to decrypt the stored tokens")

        _rewrite(conn, refuse)
        return
    from cryptography.fernet import Fernet, MultiFernet

    every = MultiFernet([Fernet(k.encode()) for k in keys])
    _rewrite(conn, lambda v: v if v.startswith("xox") else every.decrypt(v.encode()).decode())
