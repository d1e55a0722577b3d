"""The stand-in's conversations.* methods: a conversation's info and members, opening a DM,
and reading history and threads with Slack's ranges and cursor pagination."""

from __future__ import annotations

import base64
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from bot.demo.stand_in.enforcement import Enforcement
from bot.demo.stand_in.model import ApiError, Channel, Message, WebApiMethod, truthy, ts_key


class Conversations(Enforcement):
    """conversations.info, .open, .history, .replies and .members."""

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        return {"channel": self._channel_api(ch, truthy(p.get("include_num_members")))}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise ApiError("not_enough_users" if not users else "method_not_supported")
        if users[0] not in self._users:
            raise ApiError("user_not_found")
        return {"channel": {"id": self._im_with(users[0]).id}}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable_channel(p.get("channel"))
        self._page_limit("conversations.history", p)
        stored = self._messages.get(ch.id, {})

        def visible(m: Message) -> bool:
            return not m.is_reply or m.subtype == "thread_broadcast"

        exact = stored.get(str(p.get("latest") or ""))
        if (
            exact is not None
            and visible(exact)
            and truthy(p.get("inclusive"))
            and str(p.get("limit")) == "1"
            and not p.get("oldest")
            and not p.get("cursor")
        ):
            # One message by its ts, the way bots read the message they were told about:
            # the newest visible message at or before `latest` is that one; no need to order
            # the whole channel (the benchmark's stand-in would spend its CPU doing so).
            key = ts_key(exact.ts)
            older = next((m for m in stored.values() if visible(m) and ts_key(m.ts) < key), None)
            page, more = [exact], (_cursor_for(1) if older is not None else None)
        else:
            listed = _in_range([m for m in stored.values() if visible(m)], p)
            listed.sort(key=lambda m: ts_key(m.ts), reverse=True)
            page, more = _paginate(listed, p, default_limit=100)
        out: dict[str, Any] = {
            "messages": [m.to_api() for m in page],
            "has_more": more is not None,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if more is not None:
            out["response_metadata"] = {"next_cursor": more}
        return out

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable_channel(p.get("channel"))
        self._page_limit("conversations.replies", p)
        stored = self._messages.get(ch.id, {})
        anchor = stored.get(str(p.get("ts") or ""))
        if anchor is None:
            raise ApiError("thread_not_found")
        root_ts = anchor.thread_ts or anchor.ts
        root = stored.get(root_ts, anchor)
        replies = [m for m in stored.values() if m.is_reply and m.thread_ts == root.ts]
        replies = _in_range(replies, p)
        replies.sort(key=lambda m: ts_key(m.ts))
        # The parent always comes first, whatever the range, as Slack does.
        thread = [root, *replies]
        page, more = _paginate(thread, p, default_limit=1000)
        out: dict[str, Any] = {"messages": [m.to_api() for m in page], "has_more": more is not None}
        if more is not None:
            out["response_metadata"] = {"next_cursor": more}
        return out

    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        members = [*ch.members, *([self.bot_user_id] if ch.bot_member else [])]
        try:
            limit = max(1, int(p.get("limit") or 100))
        except (TypeError, ValueError):
            limit = 100
        start = 0
        if p.get("cursor"):
            try:
                start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
            except ValueError:
                raise ApiError("invalid_cursor") from None
        end = start + limit
        more = _cursor_for(end) if end < len(members) else ""
        return {"members": members[start:end], "response_metadata": {"next_cursor": more}}

    def _channel_api(self, ch: Channel, include_num_members: bool = False) -> dict[str, Any]:
        if ch.is_im:
            return {
                "id": ch.id,
                "created": ch.created,
                "is_im": True,
                "is_org_shared": False,
                "user": ch.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        out: dict[str, Any] = {
            "id": ch.id,
            "name": ch.name,
            "is_channel": not ch.is_private,
            "is_group": ch.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": ch.is_private,
            "created": ch.created,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": ch.name,
            "is_shared": ch.is_ext_shared,
            "is_ext_shared": ch.is_ext_shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "parent_conversation": None,
            "creator": ch.members[0] if ch.members else "",
            "is_member": ch.bot_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if ch.is_ext_shared:
            teams = ch.connected_team_ids or [self.team_id]
            out["connected_team_ids"] = list(teams)
            out["shared_team_ids"] = [t for t in teams if t != self.team_id]
            out["internal_team_ids"] = []
            out["conversation_host_id"] = teams[0]
        if include_num_members:
            out["num_members"] = len(ch.members) + (1 if ch.bot_member else 0)
        return out

    CONVERSATIONS_METHODS: ClassVar[dict[str, WebApiMethod]] = {
        "conversations.info": _conversations_info,
        "conversations.history": _conversations_history,
        "conversations.replies": _conversations_replies,
        "conversations.open": _conversations_open,
        "conversations.members": _conversations_members,
    }


def _parse_ts(value: Any, error: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ApiError(error) from None


def _in_range(messages: list[Message], p: dict[str, Any]) -> list[Message]:
    """Apply latest/oldest/inclusive as conversations.history and .replies do."""
    inclusive = truthy(p.get("inclusive"))
    out = messages
    if p.get("latest") not in (None, ""):
        latest = _parse_ts(p["latest"], "invalid_ts_latest")
        out = [m for m in out if ts_key(m.ts) < latest or (inclusive and ts_key(m.ts) == latest)]
    if p.get("oldest") not in (None, ""):
        oldest = _parse_ts(p["oldest"], "invalid_ts_oldest")
        out = [m for m in out if ts_key(m.ts) > oldest or (inclusive and ts_key(m.ts) == oldest)]
    return out


def _paginate(
    items: list[Message], p: dict[str, Any], *, default_limit: int
) -> tuple[list[Message], str | None]:
    try:
        limit = int(p.get("limit") or default_limit)
    except (TypeError, ValueError):
        limit = default_limit
    limit = max(1, limit)
    start = 0
    if p.get("cursor"):
        try:
            start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
        except ValueError:
            raise ApiError("invalid_cursor") from None
    end = start + limit
    return items[start:end], (_cursor_for(end) if end < len(items) else None)


def _cursor_for(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()
