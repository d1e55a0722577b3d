"""Reads the bot needs from Slack before it can act: the reacted message and its link."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.clock import Clock
from bot.inbox import RetryLater
from bot.slack.errors import NO_ACCESS, error_code, is_transient, retry_after

# Messages one history read asks for: what apps outside the Marketplace may read at once.
READ_PAGE = 15


class CannotRead(Exception):
    """The bot cannot see this conversation (not a member, or it is private)."""


class RateLimited(RetryLater):
    """Slack asked this app to wait before reading with this method again."""


class ReadGate:
    """Per workspace and method, the instant before which this process does not read
    again: after a 429, the other reads waiting for the same budget wait with it instead
    of each spending a call on another 429 (reads may be limited to one a minute). The
    wait Slack asked for also paces the reads that follow, for a while: a budget that ran
    out once is spent again by the next read."""

    # How long a learned pace holds after the 429 that taught it.
    REMEMBER = timedelta(minutes=10)

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._until: dict[tuple[str, str], datetime] = {}
        self._pace: dict[tuple[str, str], tuple[float, datetime]] = {}
        self._lock = threading.Lock()
        # Each workspace's permalink prefix (`https://<its domain>/archives/`), learned
        # from the permalinks Slack hands out.
        self.prefixes: dict[str, str] = {}

    def check(self, team: str, method: str) -> None:
        with self._lock:
            until = self._until.get((team, method))
        if until is not None:
            left = (until - self.clock.now()).total_seconds()
            if left > 0:
                raise RateLimited(f"{method} is rate limited for {left:.0f} s", left)

    def hold(self, team: str, method: str, seconds: float) -> None:
        now = self.clock.now()
        with self._lock:
            self._until[(team, method)] = now + timedelta(seconds=seconds)
            known = self._pace.get((team, method))
            pace = max(seconds, known[0]) if known and now - known[1] < self.REMEMBER else seconds
            self._pace[(team, method)] = (min(pace, 60.0), now)

    def spent(self, team: str, method: str) -> None:
        """A read went through: the next waits out the pace learned from Slack, if any."""
        now = self.clock.now()
        with self._lock:
            known = self._pace.get((team, method))
            if known and now - known[1] < self.REMEMBER:
                self._until[(team, method)] = now + timedelta(seconds=known[0])


@dataclass(frozen=True)
class Message:
    ts: str
    thread_ts: str | None
    user: str | None
    text: str


def call(
    fn: Callable[..., SlackResponse],
    gate: tuple[ReadGate, str, str] | None = None,
    **kw: Any,
) -> SlackResponse:
    """A Web API read: no access -> CannotRead, a 429 -> RateLimited, another transient
    failure -> RetryLater. With a gate (the gate, the workspace, the method), a read Slack
    asked to wait for is not made at all."""
    if gate is not None:
        gate[0].check(gate[1], gate[2])
    try:
        answer = fn(**kw)
        if gate is not None:
            gate[0].spent(gate[1], gate[2])
        return answer
    except SlackApiError as exc:
        if error_code(exc) in NO_ACCESS:
            raise CannotRead(error_code(exc)) from exc
        wait = retry_after(exc)
        if wait is not None:
            if gate is not None:
                gate[0].hold(gate[1], gate[2], wait)
            raise RateLimited(f"Slack answered {exc.response.status_code}", wait) from exc
        if is_transient(exc):
            raise RetryLater(f"Slack answered {exc.response.status_code}") from exc
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


def fetch_message(
    client: WebClient, channel: str, ts: str, gate: ReadGate | None = None, team: str = ""
) -> Message | None:
    """The message at `ts`, whether it is top level or a reply in a thread."""
    history = call(
        client.conversations_history,
        (gate, team, "conversations.history") if gate else None,
        channel=channel,
        latest=ts,
        inclusive=True,
        limit=1,
    )
    for raw in history.get("messages") or []:
        if raw.get("ts") == ts:
            return _message(raw)
    # Replies are not in the channel's history; ask the thread. Slack puts the parent first
    # whatever the range, so the reply itself is the second message.
    replies = call(
        client.conversations_replies,
        (gate, team, "conversations.replies") if gate else None,
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


def fetch_messages(
    client: WebClient, channel: str, stamps: list[str], gate: ReadGate, team: str
) -> dict[str, Message]:
    """Several top-level messages of one channel in one read: `stamps` (oldest first) span
    at most one page. Replies are not in a channel's history and are missing from the
    answer."""
    history = call(
        client.conversations_history,
        (gate, team, "conversations.history"),
        channel=channel,
        oldest=stamps[0],
        latest=stamps[-1],
        inclusive=True,
        limit=READ_PAGE,
    )
    wanted = set(stamps)
    return {
        raw["ts"]: _message(raw) for raw in history.get("messages") or [] if raw.get("ts") in wanted
    }


_PERMALINK = re.compile(r"^(https://[^/]+/archives/)[^/]+/p\d+$")


def permalink(
    client: WebClient, channel: str, ts: str, gate: ReadGate | None = None, team: str = ""
) -> str | None:
    """The message's permalink from Slack. While `chat.getPermalink` is rate limited (a
    workspace opening more cases a minute than its limit), it is built the way Slack builds
    the workspace's others, so a case never waits for its link."""
    try:
        resp = call(
            client.chat_getPermalink,
            (gate, team, "chat.getPermalink") if gate else None,
            channel=channel,
            message_ts=ts,
        )
    except CannotRead:
        return None
    except RateLimited:
        prefix = gate.prefixes.get(team) if gate else None
        if prefix is None:
            raise
        return f"{prefix}{channel}/p{ts.replace('.', '')}"
    link = resp.get("permalink")
    learned = _PERMALINK.match(link or "")
    if learned and gate:
        gate.prefixes[team] = learned.group(1)
    return link


def is_shared(client: WebClient, channel: str) -> bool:
    """Whether the channel is shared with another organisation (Slack Connect)."""
    try:
        info = call(client.conversations_info, channel=channel).get("channel") or {}
    except (CannotRead, SlackApiError):
        # Unknown (a missing scope, say): treated as shared, so internal notes stay out of
        # a thread the other organisation might read.
        return True
    return bool(info.get("is_ext_shared"))
