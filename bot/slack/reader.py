"""Reads the bot needs from Slack before it can act: the reacted message and its link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.inbox import RetryLater
from bot.slack.errors import NO_ACCESS, error_code, is_transient, retry_after


class CannotRead(Exception):
    """The bot cannot see this conversation (not a member, or it is private)."""


@dataclass(frozen=True)
class Message:
    ts: str
    thread_ts: str | None
    user: str | None
    text: str


def call(fn: Callable[..., SlackResponse], **kw: Any) -> SlackResponse:
    """A Web API read: no access -> CannotRead, a transient failure -> RetryLater."""
    try:
        return fn(**kw)
    except SlackApiError as exc:
        if error_code(exc) in NO_ACCESS:
            raise CannotRead(error_code(exc)) from exc
        if is_transient(exc):
            wait = retry_after(exc)
            raise RetryLater(f"Slack answered {exc.response.status_code}", wait) from exc
        raise
    except OSError as exc:
        raise RetryLater(f"Slack unreachable: {exc}") from exc


def _message(raw: dict[str, Any]) -> Message:
    return Message(
        ts=raw["ts"],
        thread_ts=raw.get("thread_ts"),
        user=raw.get("user") or raw.get("bot_id"),
        text=raw.get("text") or "",
    )


def fetch_message(client: WebClient, channel: str, ts: str) -> Message | None:
    """The message at `ts`, whether it is top level or a reply in a thread."""
    history = call(
        client.conversations_history, channel=channel, latest=ts, inclusive=True, limit=1
    )
    for raw in history.get("messages") or []:
        if raw.get("ts") == ts:
            return _message(raw)
    # Replies are not in the channel's history; ask the thread. Slack puts the parent first
    # whatever the range, so the reply itself is the second message.
    replies = call(
        client.conversations_replies,
        channel=channel,
        ts=ts,
        oldest=ts,
        latest=ts,
        inclusive=True,
        limit=2,
    )
    for raw in replies.get("messages") or []:
        if raw.get("ts") == ts:
            return _message(raw)
    return None


def permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        resp = call(client.chat_getPermalink, channel=channel, message_ts=ts)
    except CannotRead:
        return None
    return resp.get("permalink")


def is_shared(client: WebClient, channel: str) -> bool:
    """Whether the channel is shared with another organisation (Slack Connect)."""
    try:
        info = call(client.conversations_info, channel=channel).get("channel") or {}
    except (CannotRead, SlackApiError):
        # Unknown (a missing scope, say): treated as shared, so internal notes stay out of
        # a thread the other organisation might read.
        return True
    return bool(info.get("is_ext_shared"))
