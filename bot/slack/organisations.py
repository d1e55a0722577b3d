"""Enterprise Grid org-wide installs: one installation, one token, for every workspace its
organisation adds the app to. Slack's requests from such a workspace name the workspace; the
organisation's install is found through the workspaces Slack lists for its token
(`auth.teams.list`), stored as links (bot/slack/installations.py) so that every process
finds them. Only the background work asks Slack; the request path reads the links."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.installations import SealedInstallationStore

log = logging.getLogger(__name__)

# An organisation's workspaces are listed again at most this often when a workspace no
# link names sends a request (Slack's Tier 2 allows 20 a minute).
RELIST_SECONDS = 10.0
# What Slack answers for a token that no longer works.
REFUSED = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})


class CannotTell(Exception):
    """Slack did not list an organisation's workspaces (unreachable, rate limited)."""


class Organisations:
    def __init__(
        self,
        store: SealedInstallationStore,
        make_client: Callable[[str | None], WebClient],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._make_client = make_client
        self._monotonic = monotonic
        self._listed: dict[str, float] = {}
        self._lock = threading.Lock()

    def organisation_of(self, team: str, learn: bool) -> str | None:
        """The organisation whose org-wide install serves workspace `team`, if any.
        `learn`: when no link names it, ask Slack (background work only)."""
        org = self.store.organisation_of(team)
        if org is not None or not learn:
            return org
        for candidate in self.store.organisations():
            if self._due(candidate):
                self._list(candidate)
        return self.store.organisation_of(team)

    def _due(self, org: str) -> bool:
        now = self._monotonic()
        with self._lock:
            last = self._listed.get(org)
            if last is not None and now - last < RELIST_SECONDS:
                return False
            self._listed[org] = now
        return True

    def _list(self, org: str) -> None:
        bot = self.store.find(org)
        if bot is None:
            return
        client = self._make_client(bot.bot_token)
        teams: dict[str, str | None] = {}
        cursor: str | None = None
        try:
            while True:
                answer = client.auth_teams_list(cursor=cursor, limit=200)
                for team in answer.get("teams") or []:
                    if isinstance(team, dict) and team.get("id"):
                        teams[str(team["id"])] = team.get("name")
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except SlackApiError as exc:
            with self._lock:
                self._listed.pop(org, None)
            raise CannotTell(f"auth.teams.list: {exc.response.get('error')}") from exc
        except Exception as exc:  # Slack unreachable or hanging
            with self._lock:
                self._listed.pop(org, None)
            raise CannotTell(f"auth.teams.list: {type(exc).__name__}") from exc
        self.store.link(bot, teams, datetime.now(UTC))
        log.info("organisation %s has the app in %d workspaces", org, len(teams))

    def still_installed(self, org: str) -> bool:
        """Whether the organisation's token still works (False once Slack refuses it)."""
        bot = self.store.find(org)
        if bot is None:
            return False
        try:
            self._make_client(bot.bot_token).auth_test()
        except SlackApiError as exc:
            return str(exc.response.get("error")) not in REFUSED
        except Exception:
            return True  # cannot tell: kept
        return True
