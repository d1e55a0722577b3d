"""What the Slack stand-in stores and logs: its workspace's defaults, users, conversations,
messages and the calls it received, plus the error a Web API method answers with."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

DEFAULT_TOKEN = "xoxb-fake-slack-bot-token"
# Workspace identity from Bolt's mock server (fixture webapi_auth.test.bot_bolt.json).
DEFAULT_TEAM_ID = "T0G9PQBBK"
DEFAULT_TEAM_NAME = "Subarachnoid Workspace"
DEFAULT_TEAM_DOMAIN = "subarachnoid"
DEFAULT_BOT_USER_ID = "W23456789"
DEFAULT_BOT_ID = "BZYBOTHED"
DEFAULT_BOT_NAME = "bot"
DEFAULT_APP_ID = "A0FAKEAPP01"


# A Web API method's handler: the stand-in and the call's parameters -> the answer's fields.
WebApiMethod = Callable[[Any, dict[str, Any]], dict[str, Any]]


class ApiError(Exception):
    """A Web API method's refusal: `{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@functools.lru_cache(maxsize=1 << 16)
def ts_key(ts: str) -> Decimal:
    """A message ts as a number, to order messages by."""
    # Cached: history and replies order every message of a channel on each call.
    return Decimal(ts)


def truthy(value: Any) -> bool:
    """A boolean parameter as Slack reads it, from JSON or a form."""
    return value is True or str(value).lower() in ("1", "true")


@dataclass
class User:
    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    team_id: str = DEFAULT_TEAM_ID
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    # A guest: multi-channel (restricted) or single-channel (ultra restricted).
    is_restricted: bool = False
    is_ultra_restricted: bool = False


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_ext_shared: bool = False
    connected_team_ids: list[str] = field(default_factory=list)
    # Slack answers not_in_channel when the bot reads a conversation it has not joined;
    # set this to model a token that may read it anyway.
    readable_without_membership: bool = False
    im_user: str | None = None
    created: int = 0
    # The workspace the channel belongs to (None: the stand-in's own); a token of another
    # workspace sees it only when that workspace is among `connected_team_ids`.
    team_id: str | None = None


@dataclass
class Message:
    channel: str
    ts: str
    user: str | None
    text: str
    team: str
    permalink: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    parent_user_id: str | None = None
    metadata: dict[str, Any] | None = None
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None
    reactions: list[dict[str, Any]] = field(default_factory=list)
    edited: dict[str, str] | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self) -> dict[str, Any]:
        """The message as conversations.history / conversations.replies return it."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user is not None:
            out["user"] = self.user
        out["team"] = self.team
        if self.subtype:
            out["subtype"] = self.subtype
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.blocks is not None:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.is_reply and self.parent_user_id:
            out["parent_user_id"] = self.parent_user_id
        if self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users_count"] = len(self.reply_users)
            out["reply_users"] = list(self.reply_users)
            out["latest_reply"] = self.latest_reply
        if self.reactions:
            out["reactions"] = copy.deepcopy(self.reactions)
        if self.edited:
            out["edited"] = dict(self.edited)
        if self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        return out


@dataclass(frozen=True)
class Call:
    """One request the fake received. Never holds a token."""

    seq: int
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    token_present: bool
    token_valid: bool
    # None when the connection was dropped without an answer.
    status: int | None
    response: dict[str, Any] | None
    at: datetime
    fault: str | None = None
    # The workspace whose token made the call (None without a valid token).
    team: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")
