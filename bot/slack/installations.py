"""The installations of multi-workspace mode: slack-sdk's SQLAlchemy installation store, with
its tokens encrypted at rest (bot/slack/token_cipher.py), one installation per workspace or
organisation (a reinstall replaces the rows of the one before), and Enterprise Grid found by
what Slack's requests name:

- an installation is keyed by its workspace id (`T…`), whether or not the workspace belongs
  to an Enterprise Grid organisation, or by its organisation's id (`E…`) for an org-wide
  install, which serves every workspace the organisation adds the app to;
- an uninstall deletes the tokens at once: the bot rows go, and the installation row keeps
  who installed the app and when, without its tokens, until `purge` removes it (the
  uninstall is recorded in `workspace_uninstalls`, as single-workspace mode records it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from sqlalchemy import Connection, Table, and_, delete, desc, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import WorkspaceUninstall
from bot.slack.token_cipher import TokenCipher, TokenUnreadable, is_clear, open_without_key

log = logging.getLogger(__name__)

BOT_TOKENS = ("bot_token", "bot_refresh_token")
INSTALLATION_TOKENS = (*BOT_TOKENS, "user_token", "user_refresh_token")
_UNINSTALLS: Table = WorkspaceUninstall.__table__  # type: ignore[assignment]


def key_of(enterprise_id: str | None, team_id: str | None, org_wide: bool) -> str:
    """The id an installation is known by: its organisation's when it is org-wide."""
    return str(enterprise_id if org_wide or not team_id else team_id)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    def __init__(self, client_id: str, engine: Engine, cipher: TokenCipher | None) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.cipher = cipher

    # -- tokens ------------------------------------------------------------------------
    def _seal(self, row: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
        if self.cipher is not None:
            for name in columns:
                if row.get(name):
                    row[name] = self.cipher.seal(str(row[name]))
        return row

    def _open(self, value: str | None) -> str | None:
        if not value:
            return value
        return self.cipher.open(value) if self.cipher else open_without_key(value)

    def _opened(self, found: Any, columns: Iterable[str]) -> Any:
        if found is None:
            return None
        try:
            for name in columns:
                setattr(found, name, self._open(getattr(found, name)))
        except TokenUnreadable as exc:
            log.error(
                "cannot read the token of installation %s: %s",
                key_of(found.enterprise_id, found.team_id, bool(found.is_enterprise_install)),
                exc,
            )
            return None
        return found

    # -- writes ------------------------------------------------------------------------
    def save(self, installation: Installation) -> None:
        """The installation replaces every row of the one before it (its workspace's, or
        its organisation's when org-wide), in one transaction."""
        i = installation.to_dict()
        b = installation.to_bot().to_dict()
        for row in (i, b):
            row["client_id"] = self.client_id
            for name in ("installed_at", "bot_token_expires_at", "user_token_expires_at"):
                if name in row:
                    row[name] = normalize_datetime_for_db(row[name])
        key = key_of(
            installation.enterprise_id,
            installation.team_id,
            bool(installation.is_enterprise_install),
        )
        with self.engine.begin() as conn:
            self._delete_rows(conn, key, installations=True)
            conn.execute(self.installations.insert(), self._seal(i, INSTALLATION_TOKENS))
            conn.execute(self.bots.insert(), self._seal(b, BOT_TOKENS))
            conn.execute(delete(_UNINSTALLS).where(_UNINSTALLS.c.team_id == key))

    def save_bot(self, bot: Bot) -> None:
        b = bot.to_dict()
        b["client_id"] = self.client_id
        b["installed_at"] = normalize_datetime_for_db(b.get("installed_at"))
        b["bot_token_expires_at"] = normalize_datetime_for_db(b.get("bot_token_expires_at"))
        key = key_of(bot.enterprise_id, bot.team_id, bool(bot.is_enterprise_install))
        with self.engine.begin() as conn:
            self._delete_rows(conn, key, installations=False)
            conn.execute(self.bots.insert(), self._seal(b, BOT_TOKENS))

    def _where(self, table: Any, key: str, links: bool = False) -> Any:
        """The rows of installation `key`; `links`: with an organisation's workspace links."""
        c = table.c
        if key.startswith("E"):
            mine = and_(c.enterprise_id == key, c.is_enterprise_install.is_(True))
            if not links:
                mine = and_(mine, c.team_id.is_(None))
        else:
            mine = and_(c.team_id == key, c.is_enterprise_install.is_(False))
        return and_(c.client_id == self.client_id, mine)

    def _delete_rows(self, conn: Connection, key: str, installations: bool) -> None:
        conn.execute(delete(self.bots).where(self._where(self.bots, key)))
        if installations:
            table = self.installations
            conn.execute(delete(table).where(self._where(table, key)))

    def uninstall(self, key: str, reason: str, at: datetime) -> None:
        """The app was uninstalled (or its bot token revoked): its tokens go now, and the
        record of who installed it goes with `purge`."""
        table = self.installations
        with self.engine.begin() as conn:
            conn.execute(delete(self.bots).where(self._where(self.bots, key, links=True)))
            conn.execute(
                update(table)
                .where(self._where(table, key))
                .values(dict.fromkeys((*INSTALLATION_TOKENS, "incoming_webhook_url")))
            )
            known = conn.execute(select(_UNINSTALLS.c.team_id).where(_UNINSTALLS.c.team_id == key))
            if known.first() is None:
                conn.execute(_UNINSTALLS.insert().values(team_id=key, reason=reason, at=at))

    # -- reads -------------------------------------------------------------------------
    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(found, BOT_TOKENS)  # type: ignore[no-any-return]

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(found, INSTALLATION_TOKENS)  # type: ignore[no-any-return]

    def find(self, key: str) -> Bot | None:
        """The bot of installation `key`: a workspace's own (in a Grid organisation or not),
        or an organisation's org-wide one."""
        c = self.bots.c
        query = (
            select(self.bots)
            .where(self._where(self.bots, key), c.bot_token.is_not(None))
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else self._opened(self.build_bot_entity(row), BOT_TOKENS)

    def organisations(self) -> list[str]:
        """The organisations with an org-wide install."""
        c = self.bots.c
        query = select(c.enterprise_id).where(
            c.client_id == self.client_id,
            c.is_enterprise_install.is_(True),
            c.team_id.is_(None),
            c.bot_token.is_not(None),
            c.enterprise_id.is_not(None),
        )
        with self.engine.connect() as conn:
            return sorted({str(e) for e in conn.execute(query).scalars()})

    # -- an org-wide install's workspaces -----------------------------------------------
    # A workspace an organisation added its org-wide app to is a bot row of that
    # organisation naming the workspace, without a token: every process finds the
    # organisation's install from the workspace id alone, and no token is copied.
    def _link_rows(self, team: str | None = None) -> Any:
        c = self.bots.c
        where = and_(
            c.client_id == self.client_id,
            c.is_enterprise_install.is_(True),
            c.team_id.is_not(None),
            c.bot_token.is_(None),
        )
        return where if team is None else and_(where, c.team_id == team)

    def organisation_of(self, team: str) -> str | None:
        query = select(self.bots.c.enterprise_id).where(self._link_rows(team)).limit(1)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else str(found)

    def link(self, org: Bot, teams: dict[str, str | None], at: datetime) -> None:
        """The workspaces (id: name) organisation `org` has added its app to, as Slack
        lists them now: the links are made to match."""
        c = self.bots.c
        with self.engine.begin() as conn:
            conn.execute(
                delete(self.bots).where(self._link_rows(), c.enterprise_id == org.enterprise_id)
            )
            conn.execute(delete(self.bots).where(self._link_rows(), c.team_id.in_(list(teams))))
            for team, name in teams.items():
                conn.execute(
                    self.bots.insert().values(
                        client_id=self.client_id,
                        app_id=org.app_id,
                        enterprise_id=org.enterprise_id,
                        enterprise_name=org.enterprise_name,
                        team_id=team,
                        team_name=name,
                        bot_id=org.bot_id,
                        bot_user_id=org.bot_user_id,
                        bot_scopes=",".join(org.bot_scopes or []),
                        is_enterprise_install=True,
                        installed_at=normalize_datetime_for_db(at),
                    )
                )

    def unlink(self, team: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(self.bots).where(self._link_rows(team)))

    # -- at start ----------------------------------------------------------------------
    def reseal(self) -> int:
        """Seal every stored token in clear or under an older key with the first key (key
        rotation, or a key configured after tokens were stored). The number of rows sealed;
        nothing when the tables do not exist yet (a database not migrated)."""
        try:
            with self.engine.begin() as conn:
                return sum(
                    self._reseal_table(conn, table, columns)
                    for table, columns in (
                        (self.installations, INSTALLATION_TOKENS),
                        (self.bots, BOT_TOKENS),
                    )
                )
        except SQLAlchemyError as exc:
            log.debug("tokens not resealed: %s", type(exc).__name__)
            return 0

    def _reseal_table(self, conn: Connection, table: Any, columns: tuple[str, ...]) -> int:
        rows = conn.execute(select(table.c.id, *(table.c[n] for n in columns))).mappings().all()
        done = 0
        for row in rows:
            values = {n: row[n] for n in columns if row[n]}
            if self.cipher is None:
                if any(not is_clear(v) for v in values.values()):
                    log.error(
                        "the database holds encrypted workspace tokens and "
                        "TOKEN_ENCRYPTION_KEY is not set: those workspaces cannot be served"
                    )
                    return done
                continue
            stale = {n: v for n, v in values.items() if self.cipher.stale(v)}
            try:
                sealed = {n: self.cipher.seal(self.cipher.open(v)) for n, v in stale.items()}
            except TokenUnreadable as exc:
                log.error("cannot reseal a stored workspace token: %s", exc)
                continue
            if sealed:
                conn.execute(update(table).where(table.c.id == row["id"]).values(sealed))
                done += 1
        return done
