"""Who counts as a responder: the policy's listed users, members of its user groups (read
from Slack, cached briefly), or, when a policy lists nobody, any full member of the
installing workspace other than the requester: never a guest, a bot, a deactivated account
or someone of another organisation (read with users.info, cached briefly)."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.inbox import RetryLater
from bot.slack.errors import error_code
from bot.slack.reader import CannotRead, call

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0


class NotInstalled(LookupError):
    """The app is not installed in the workspace (any more): nobody there can be looked up."""


class Directory:
    def __init__(self, client: WebClient, ttl: float = GROUP_TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._users: dict[str, tuple[float, dict[str, object]]] = {}
        self._private: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            resp = call(self.client.usergroups_users_list, usergroup=group_id)
        except (CannotRead, SlackApiError) as exc:
            _unknown_if_unauthorized(exc)
            # A deleted group or a missing scope is a policy problem, not a reason to stall
            # the case: nobody counts as a member until it is fixed.
            log.warning("cannot read user group %s: %s", group_id, exc)
            return frozenset()
        members = frozenset(resp.get("users") or [])
        with self._lock:
            self._groups[group_id] = (time.monotonic(), members)
        return members

    def can_see(self, user: str, channel: str) -> bool:
        """Whether `user` may see what is in `channel`: any member of the workspace sees a
        public channel; a private one only its members (unknown counts as private)."""
        if not self._is_private(channel):
            return True
        return user in self.members(channel)

    def _is_private(self, channel: str) -> bool:
        with self._lock:
            cached = self._private.get(channel)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            info = call(self.client.conversations_info, channel=channel).get("channel") or {}
            private = bool(info.get("is_private", True))
        except (CannotRead, SlackApiError) as exc:
            _unknown_if_unauthorized(exc)
            return True
        with self._lock:
            self._private[channel] = (time.monotonic(), private)
        return private

    def members(self, channel: str) -> frozenset[str]:
        """Who is in `channel`, cached like user groups; nobody when the bot cannot see it."""
        key = f"channel:{channel}"
        with self._lock:
            cached = self._groups.get(key)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        found: set[str] = set()
        cursor = None
        try:
            while True:
                resp = call(
                    self.client.conversations_members, channel=channel, limit=200, cursor=cursor
                )
                found.update(resp.get("members") or [])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (CannotRead, SlackApiError) as exc:
            _unknown_if_unauthorized(exc)
            log.warning("cannot read the members of %s: %s", channel, exc)
            return frozenset()
        members = frozenset(found)
        with self._lock:
            self._groups[key] = (time.monotonic(), members)
        return members

    def full_member(self, user: str, team: str | None) -> bool:
        """Whether `user` is a full member of workspace `team` (when given): not a guest,
        bot, app or deactivated account. Unknown users are not."""
        info = self._info(user)
        if info is None:
            return False
        if team is not None and info.get("team_id") not in (None, team):
            return False
        flags = ("is_bot", "is_app_user", "is_restricted", "is_ultra_restricted", "deleted")
        return not any(info.get(flag) for flag in flags)

    def in_workspace(self, user: str, team: str) -> bool:
        """Whether `user` belongs to workspace `team` (not another organisation's user in a
        shared channel); unknown users do not."""
        info = self._info(user)
        return info is not None and info.get("team_id") in (None, team)

    def name(self, user: str) -> str | None:
        """How Slack shows the person: their display name, else their real name."""
        try:
            info = self._info(user)
        except RetryLater:
            return None  # Slack busy or away: the caller shows a neutral word
        if info is None:
            return None
        profile = info.get("profile")
        shown = profile.get("display_name") if isinstance(profile, dict) else None
        real = info.get("real_name")
        found = shown or real or info.get("name")
        return str(found) if found else None

    def _info(self, user: str) -> dict[str, object] | None:
        with self._lock:
            cached = self._users.get(user)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            info = dict(call(self.client.users_info, user=user).get("user") or {})
        except (CannotRead, SlackApiError) as exc:
            _unknown_if_unauthorized(exc)
            log.warning("cannot read user %s: %s", user, exc)
            return None
        with self._lock:
            self._users[user] = (time.monotonic(), info)
        return info

    def is_responder(
        self,
        users: tuple[str, ...],
        groups: tuple[str, ...],
        requester: str | None,
        user: str,
        team: str | None = None,
    ) -> bool:
        if not users and not groups:
            return user != requester and self.full_member(user, team)
        if user in users:
            return True
        return any(user in self.group_members(g) for g in groups)


# Slack refusing the token itself: nothing is known about the person or group, and the work
# waits for a working token (a reinstall) rather than counting them out.
UNAUTHORIZED = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


def _unknown_if_unauthorized(exc: Exception) -> None:
    if isinstance(exc, SlackApiError) and error_code(exc) in UNAUTHORIZED:
        raise RetryLater(f"Slack refused the token: {error_code(exc)}") from exc
