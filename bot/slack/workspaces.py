"""The workspaces the bot serves and the Web API client of each. Single-workspace mode has
one bot token for everything; multi-workspace mode finds each workspace's token in the
installation store that Slack's OAuth install flow fills (bot/slack/install.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, InstallationStore

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
    ) -> None:
        self._make_client = make_client
        self.store = store
        self._single = make_client(token)
        self._clients: dict[str, WebClient] = {}
        self._bots: dict[str, tuple[float, Bot | None]] = {}
        self._bot_user: str | None = None
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

    def installed(self, team_id: str | None) -> bool:
        if self.store is None:
            return True
        return bool(team_id) and self._bot(str(team_id)) is not None

    def client(self, team_id: str | None) -> WebClient | None:
        """The client for workspace `team_id`; None when the app is not installed there."""
        if self.store is None:
            return self._single
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
        if self._bot_user is None:
            try:
                self._bot_user = self._single.auth_test().get("user_id")
            except Exception:
                return None
        return self._bot_user

    def forget(self, team_id: str) -> None:
        """The workspace uninstalled the app (or revoked its token): drop its installation.
        Its cases and their history stay."""
        if self.store is None:
            return
        self.store.delete_bot(enterprise_id=None, team_id=team_id)
        self.store.delete_installation(enterprise_id=None, team_id=team_id)
        with self._lock:
            self._bots[team_id] = (time.monotonic(), None)
