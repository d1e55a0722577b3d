"""The workspaces the bot serves and the Web API client of each. Single-workspace mode has
one bot token for everything: it serves the workspace that token belongs to (learned in the
background, bot/slack/identity.py) until that workspace uninstalls the app. Multi-workspace
mode finds each workspace's token in the installation store that Slack's OAuth install flow
fills (bot/slack/install.py): a workspace's own installation, in an Enterprise Grid
organisation or not, or its organisation's org-wide one (bot/slack/organisations.py). Only
the background work asks Slack which workspaces an organisation has added the app to; the
request path reads what is stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import WorkspaceUninstall
from bot.slack.identity import Identity
from bot.slack.installations import SealedInstallationStore
from bot.slack.organisations import CannotTell, Organisations

log = logging.getLogger(__name__)

# How long a looked-up installation is trusted before the store is read again: an install
# or an uninstall in another replica shows here within this long.
CACHE_SECONDS = 30.0


class Workspaces:
    def __init__(
        self,
        make_client: Callable[[str | None], WebClient],
        token: str | None,
        store: SealedInstallationStore | None = None,
        sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self._make_client = make_client
        self.store = store
        self._sessions = sessions
        self._single = make_client(token)
        self.identity = Identity(self._single)
        self._orgs = Organisations(store, make_client) if store is not None else None
        self._clients: dict[str, WebClient] = {}
        self._bots: dict[str, tuple[float, Bot | None]] = {}
        self._links: dict[str, tuple[float, str]] = {}
        self._org_ids: tuple[float, list[str]] | None = None
        self._uninstalled: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    @property
    def multi(self) -> bool:
        return self.store is not None

    @property
    def default_client(self) -> WebClient:
        """The single-workspace client (no token in multi-workspace mode)."""
        return self._single

    def _installation(self, key: str) -> Bot | None:
        """Installation `key`'s bot: a workspace's own (T…) or an org-wide one (E…)."""
        assert self.store is not None
        now = time.monotonic()
        with self._lock:
            cached = self._bots.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        bot = self.store.find(key)
        with self._lock:
            self._bots[key] = (now, bot)
        return bot

    def _bot(self, team_id: str, learn: bool) -> Bot | None:
        """The bot that serves workspace `team_id`. `learn`: ask Slack about org-wide
        installs when nothing stored says (may raise CannotTell)."""
        bot = self._installation(team_id)
        if bot is not None or team_id.startswith("E"):
            return bot
        org = self._organisation_of(team_id, learn)
        return self._installation(org) if org else None

    def _organisation_of(self, team_id: str, learn: bool) -> str | None:
        assert self._orgs is not None
        now = time.monotonic()
        with self._lock:
            cached = self._links.get(team_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        if not learn and not self._organisations():
            return None
        org = self._orgs.organisation_of(team_id, learn)
        if org is not None:
            with self._lock:
                self._links[team_id] = (now, org)
        return org

    def _organisations(self) -> list[str]:
        """The organisations with an org-wide install (cached)."""
        assert self.store is not None
        now = time.monotonic()
        with self._lock:
            cached = self._org_ids
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        found = self.store.organisations()
        with self._lock:
            self._org_ids = (now, found)
        return found

    def serves(self, team_id: str | None) -> bool | None:
        """Whether the bot works for workspace `team_id`: None while that is not known yet
        (single-workspace mode: Slack has not said whose the token is; many workspaces:
        Slack has not listed an organisation's workspaces)."""
        if not team_id:
            return False
        if self.store is not None:
            try:
                return self._bot(str(team_id), learn=True) is not None
            except CannotTell as exc:
                log.warning("cannot tell yet whether workspace %s is served: %s", team_id, exc)
                return None
        who = self.identity.known
        if who is None:
            return None
        return who.team_id == team_id and self.uninstalled(team_id) is None

    def installed(self, team_id: str | None) -> bool:
        """At the door: a request for a workspace the bot does not serve is dropped; while
        single-workspace mode does not know its workspace yet, everything is kept, and so
        is a request from a workspace no link names while an org-wide install might serve
        it (the background work asks Slack). Never a Slack call here."""
        if self.store is not None:
            if not team_id:
                return False
            if self._bot(str(team_id), learn=False) is not None:
                return True
            return not str(team_id).startswith("E") and bool(self._organisations())
        return self.serves(team_id) is not False

    def uninstalled(self, team_id: str) -> str | None:
        """Single-workspace mode: why the workspace's work stopped (None if it did not)."""
        if self._sessions is None:
            return None
        now = time.monotonic()
        with self._lock:
            cached = self._uninstalled.get(team_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self._sessions() as session:
            row = session.get(WorkspaceUninstall, team_id)
            why = None if row is None else f"{row.reason} at {row.at:%Y-%m-%d %H:%M} UTC"
        with self._lock:
            self._uninstalled[team_id] = (now, why)
        return why

    def start(self) -> None:
        """Single-workspace mode: learn the token's workspace in the background."""
        if self.store is None:
            self.identity.start()

    def reinstalled(self) -> None:
        """A working token for the workspace is configured: its work resumes."""
        who = self.identity.known
        if self._sessions is None or who is None:
            return
        with self._sessions.begin() as session:
            session.execute(
                delete(WorkspaceUninstall).where(WorkspaceUninstall.team_id == who.team_id)
            )
        with self._lock:
            self._uninstalled.pop(who.team_id, None)

    def client(self, team_id: str | None) -> WebClient | None:
        """The client for workspace `team_id`; None when the app is not installed there."""
        if self.store is None:
            return None if team_id and self.uninstalled(team_id) else self._single
        try:
            bot = self._bot(str(team_id), learn=True) if team_id else None
        except CannotTell as exc:
            log.warning("no client for workspace %s yet: %s", team_id, exc)
            return None
        if bot is None or not bot.bot_token:
            return None
        with self._lock:
            found = self._clients.get(bot.bot_token)
            if found is None:
                found = self._clients[bot.bot_token] = self._make_client(bot.bot_token)
        return found

    def bot_user_id(self, team_id: str | None) -> str | None:
        """The bot's own user id in the workspace (its messages carry it)."""
        # Never a Slack call here: this is asked on the request path too.
        if self.store is not None:
            bot = self._bot(str(team_id), learn=False) if team_id else None
            return bot.bot_user_id if bot else None
        who = self.identity.known
        return who.bot_user_id if who is not None else None

    def forget(self, team_id: str, reason: str, at: datetime) -> None:
        """The workspace uninstalled the app (or revoked its token): its tokens go. Its
        cases and their history stay."""
        if self.store is None:
            if self._sessions is None:
                return
            with self._sessions.begin() as session:
                if session.get(WorkspaceUninstall, team_id) is None:
                    session.add(WorkspaceUninstall(team_id=team_id, reason=reason, at=at))
            with self._lock:
                self._uninstalled.pop(team_id, None)
            return
        assert self._orgs is not None
        org = None
        if not team_id.startswith("E") and self.store.find(team_id) is None:
            org = self.store.organisation_of(team_id)
        self.store.uninstall(team_id, reason, at)
        if org is not None:
            # A workspace of an org-wide install: the app left it. The organisation's
            # install goes too once Slack refuses its token (the organisation uninstalled).
            self.store.unlink(team_id)
            if not self._orgs.still_installed(org):
                self.store.uninstall(org, reason, at)
                log.warning("the app was uninstalled from organisation %s", org)
        with self._lock:
            self._bots.clear()
            self._links.clear()
            self._org_ids = None
