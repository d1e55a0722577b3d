"""The workspaces the bot serves and the Web API client of each. Single-workspace mode has
one bot token for everything: it serves the workspace that token belongs to (learned in the
background, bot/slack/identity.py) until that workspace uninstalls the app. Multi-workspace
mode finds each workspace's token in the installation store that Slack's OAuth install flow
fills (bot/slack/install.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, InstallationStore
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import WorkspaceUninstall
from bot.slack.identity import Identity

log = logging.getLogger(__name__)

# How long a looked-up installation is trusted before the store is read again: an install
# or an uninstall in another replica shows here within this long.
CACHE_SECONDS = 30.0


class Workspaces:
    def __init__(
        self,
        make_client: Callable[[str | None], WebClient],
        token: str | None,
        store: InstallationStore | None = None,
        sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self._make_client = make_client
        self.store = store
        self._sessions = sessions
        self._single = make_client(token)
        self.identity = Identity(self._single)
        self._clients: dict[str, WebClient] = {}
        self._bots: dict[str, tuple[float, Bot | None]] = {}
        self._uninstalled: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    @property
    def multi(self) -> bool:
        return self.store is not None

    @property
    def default_client(self) -> WebClient:
        """The single-workspace client (no token in multi-workspace mode)."""
        return self._single

    def _bot(self, team_id: str) -> Bot | None:
        assert self.store is not None
        now = time.monotonic()
        with self._lock:
            cached = self._bots.get(team_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        bot = self.store.find_bot(enterprise_id=None, team_id=team_id)
        with self._lock:
            self._bots[team_id] = (now, bot)
        return bot

    def serves(self, team_id: str | None) -> bool | None:
        """Whether the bot works for workspace `team_id`: None in single-workspace mode while
        the token's workspace is not known yet (Slack has not answered)."""
        if not team_id:
            return False
        if self.store is not None:
            return self._bot(str(team_id)) is not None
        who = self.identity.known
        if who is None:
            return None
        return who.team_id == team_id and self.uninstalled(team_id) is None

    def installed(self, team_id: str | None) -> bool:
        """At the door: a request for a workspace the bot does not serve is dropped; while
        single-workspace mode does not know its workspace yet, everything is kept."""
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
        bot = self._bot(str(team_id)) if team_id else None
        if bot is None or not bot.bot_token:
            return None
        with self._lock:
            found = self._clients.get(bot.bot_token)
            if found is None:
                found = self._clients[bot.bot_token] = self._make_client(bot.bot_token)
        return found

    def bot_user_id(self, team_id: str | None) -> str | None:
        """The bot's own user id in the workspace (its messages carry it)."""
        if self.store is not None:
            bot = self._bot(str(team_id)) if team_id else None
            return bot.bot_user_id if bot else None
        # Never a Slack call here: this is asked on the request path too.
        who = self.identity.known
        return who.bot_user_id if who is not None else None

    def forget(self, team_id: str, reason: str, at: datetime) -> None:
        """The workspace uninstalled the app (or revoked its token): drop its installation.
        Its cases and their history stay."""
        if self.store is None:
            if self._sessions is None:
                return
            with self._sessions.begin() as session:
                if session.get(WorkspaceUninstall, team_id) is None:
                    session.add(WorkspaceUninstall(team_id=team_id, reason=reason, at=at))
            with self._lock:
                self._uninstalled.pop(team_id, None)
            return
        self.store.delete_bot(enterprise_id=None, team_id=team_id)
        self.store.delete_installation(enterprise_id=None, team_id=team_id)
        with self._lock:
            self._bots[team_id] = (time.monotonic(), None)
