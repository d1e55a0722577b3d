"""A local stand-in for Slack's Web API: what the `demo` command needs to run the bot.

It is a real HTTP server, so the bot talks to it through an unmodified
`slack_sdk.WebClient(base_url=fake.base_url)`. Responses follow the shapes of Slack's own
examples (`tests/fixtures/slack/`). FakeSlack is assembled from one class per part:

- state: the workspace (users, conversations, messages), seeding, shared lookups;
- enforcement: Slack's rules (rules.py) applied to a call;
- serving: the HTTP server, decoding, authentication, dispatch and the call log;
- auth, messages (chat.*), conversations, users (users.*, usergroups.*), views: the Web API
  methods of each area, each listing them in its own table, gathered here in `METHODS`.

The tests extend it (tests/support/fake_slack.py) with fault injection, OAuth installs, file
uploads and helpers of their own, through the hooks `_apply_fault`, `_authenticate`,
`_serve_other` and the `METHODS` table.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from bot.demo.stand_in.auth import Auth
from bot.demo.stand_in.conversations import Conversations
from bot.demo.stand_in.messages import Messages
from bot.demo.stand_in.model import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_NAME,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_TEAM_NAME,
    DEFAULT_TOKEN,
    ApiError,
    Call,
    Channel,
    Message,
    User,
    WebApiMethod,
    ts_key,
)
from bot.demo.stand_in.serving import Recorder, Serving
from bot.demo.stand_in.users import Users
from bot.demo.stand_in.views import Views

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_NAME",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_TEAM_NAME",
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "Channel",
    "FakeSlack",
    "Message",
    "Recorder",
    "User",
    "WebApiMethod",
    "ts_key",
]


class FakeSlack(Serving, Auth, Messages, Conversations, Users, Views):
    """Slack's Web API on 127.0.0.1, with seeded state and a call log."""

    # The Web API methods the bot calls on one workspace's token, by name.
    METHODS: ClassVar[dict[str, WebApiMethod]] = {
        **Auth.AUTH_METHODS,
        **Messages.CHAT_METHODS,
        **Conversations.CONVERSATIONS_METHODS,
        **Users.USERS_METHODS,
        **Views.VIEWS_METHODS,
    }

    # ------------------------------------------------------------------ state queries

    def user(self, id: str) -> User | None:
        with self._lock:
            return self._users.get(id)

    def channel(self, id: str) -> Channel | None:
        with self._lock:
            return self._channels.get(id)

    # ------------------------------------------------------------------ call log

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posted_messages(self, channel: str | None = None) -> list[Message]:
        """Messages the bot posted successfully with chat.postMessage, as they were posted."""
        with self._lock:
            return [
                copy.deepcopy(m) for m in self._posted if channel is None or m.channel == channel
            ]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies posted to response URLs (all of them, or those under `name`)."""
        return [
            c.params["body"]
            for c in self.calls("response_url")
            if c.ok and (name is None or c.params["name"] == name)
        ]
