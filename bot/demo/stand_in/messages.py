"""The stand-in's chat.* methods: posting, updating and linking to messages, and ephemeral
messages (kept apart: only their recipient would see them)."""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from bot.demo.stand_in.enforcement import Enforcement
from bot.demo.stand_in.model import ApiError, WebApiMethod, truthy

# Slack rejects a thread_ts that is not a timestamp at all, but accepts a well-formed one that
# matches no message (the reply is stored and shows up nowhere).
_TS_SHAPE = re.compile(r"^\d+(\.\d+)?$")


class Messages(Enforcement):
    """chat.postMessage, chat.update, chat.postEphemeral and chat.getPermalink."""

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._postable_channel(p.get("channel"))
        self._check_blocks(p)
        text = p.get("text") or ""
        blocks = p.get("blocks") or None
        if not text and not blocks and not p.get("attachments"):
            raise ApiError("no_text")
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        if thread_ts is not None and not _TS_SHAPE.match(thread_ts):
            raise ApiError("invalid_thread_ts")
        msg = self._store_message(
            ch,
            user=self.bot_user_id,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            team=self.team_id,
            bot=True,
            broadcast=truthy(p.get("reply_broadcast")),
            metadata=p.get("metadata") if isinstance(p.get("metadata"), dict) else None,
        )
        self._posted.append(copy.deepcopy(msg))
        return {"channel": ch.id, "ts": msg.ts, "message": msg.to_api()}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        msg = self._messages.get(ch.id, {}).get(str(p.get("ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        if msg.bot_id != self.bot_id:
            raise ApiError("cant_update_message")
        self._check_blocks(p)
        text = (p.get("text") or "") if "text" in p else msg.text
        blocks = (copy.deepcopy(p.get("blocks")) or None) if "blocks" in p else msg.blocks
        if not text and not blocks:
            raise ApiError("no_text")
        msg.text, msg.blocks = text, blocks
        msg.edited = {"user": self.bot_user_id, "ts": self._mint_ts()}
        return {"channel": ch.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._postable_channel(p.get("channel"))
        user = p.get("user")
        if not user or user not in self._users:
            raise ApiError("user_not_found")
        if not ch.is_im and user not in ch.members:
            raise ApiError("user_not_in_channel")
        self._check_blocks(p)
        if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
            raise ApiError("no_text")
        message_ts = self._mint_ts()
        self._ephemerals.append(
            {
                "channel": ch.id,
                "user": user,
                "text": p.get("text") or "",
                "blocks": copy.deepcopy(p.get("blocks")),
                "thread_ts": p.get("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"message_ts": message_ts}

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        msg = self._messages.get(ch.id, {}).get(str(p.get("message_ts") or ""))
        if msg is None:
            raise ApiError("message_not_found")
        return {"channel": ch.id, "permalink": msg.permalink}

    CHAT_METHODS: ClassVar[dict[str, WebApiMethod]] = {
        "chat.postMessage": _chat_post_message,
        "chat.update": _chat_update,
        "chat.postEphemeral": _chat_post_ephemeral,
        "chat.getPermalink": _chat_get_permalink,
    }
