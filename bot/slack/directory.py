"""Who counts as a responder: the policy's listed users, members of its user groups (read
from Slack, cached briefly), or, when a policy lists nobody, anyone but the requester."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.reader import CannotRead, call

log = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300.0


class Directory:
    def __init__(self, client: WebClient, ttl: float = GROUP_TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            resp = call(self.client.usergroups_users_list, usergroup=group_id)
        except (CannotRead, SlackApiError) as exc:
            # A deleted group or a missing scope is a policy problem, not a reason to stall
            # the case: nobody counts as a member until it is fixed.
            log.warning("cannot read user group %s: %s", group_id, exc)
            return frozenset()
        members = frozenset(resp.get("users") or [])
        with self._lock:
            self._groups[group_id] = (time.monotonic(), members)
        return members

    def is_responder(
        self, users: tuple[str, ...], groups: tuple[str, ...], requester: str | None, user: str
    ) -> bool:
        if not users and not groups:
            return user != requester
        if user in users:
            return True
        return any(user in self.group_members(g) for g in groups)
