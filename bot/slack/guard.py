"""The door: what every request from Slack must pass before anything parses or stores it.

Slack signs each HTTP request with HMAC-SHA256 over `v0:{timestamp}:{raw body}`. The check
runs on the raw bytes, before any decoding, so an unsigned request costs one hash and one
short log line whatever its body holds. After it, `envelope_problem` refuses the shapes the
listeners cannot use (the same check runs for Socket Mode, whose payloads are not signed),
and the field helpers keep what is stored to what fits its columns.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
# Slack's own requests are a few kB; a modal submission stays well under 100 kB.
MAX_BODY = 1_000_000
# Slack's replay window: a request older (or newer) than this is refused.
MAX_SKEW_SECONDS = 5 * 60

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_TS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_DIGITS = re.compile(r"[0-9]{1,15}")
_NAME = re.compile(r"[A-Za-z0-9_.:+'-]{1,100}")


def parse_timestamp(value: str | None) -> int | None:
    """The request timestamp as whole seconds, or None for anything else (fractions,
    signs, thousands of digits)."""
    if value is None or not (1 <= len(value) <= 12) or not value.isascii():
        return None
    return int(value) if value.isdigit() else None


def signature_problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why the request is not Slack's, or None when its signature holds."""
    if not secret:
        return "no signing secret is configured"
    if timestamp is None or signature is None:
        return "missing signature headers"
    ts = parse_timestamp(timestamp)
    if ts is None:
        return "malformed timestamp header"
    if abs(now - ts) > MAX_SKEW_SECONDS:
        return "stale timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed signature header"
    base = b"v0:" + str(ts).encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature mismatch"
    return None


def envelope_problem(body: Any) -> str | None:
    """Why a verified request cannot be handled, or None. Only the parts the listeners and
    the framework read are checked; anything else about the request is Slack's business."""
    if not isinstance(body, dict):
        return "body is not an object"
    kind = body.get("type")
    if "command" in body:
        if not isinstance(body["command"], str) or not body["command"].startswith("/"):
            return "command is not a slash command"
        return None
    if not isinstance(kind, str):
        return "no request type"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event is not an object with a type"
        return _fields_problem(event, ("user", "channel", "subtype", "bot_id", "ts", "thread_ts"))
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action is not an object with an action_id"
        for part in ("user", "container", "channel", "team"):
            if body.get(part) is not None and not isinstance(body[part], dict):
                return f"{part} is not an object"
        return None
    if kind in ("view_submission", "view_closed"):
        if not isinstance(body.get("view"), dict) or not isinstance(body.get("user"), dict):
            return "view or user is not an object"
        return None
    if kind in ("shortcut", "message_action"):
        if not isinstance(body.get("callback_id"), str) or not isinstance(body.get("user"), dict):
            return "shortcut without callback_id or user"
        if kind == "message_action":
            for part in ("message", "channel"):
                if not isinstance(body.get(part), dict):
                    return f"{part} is not an object"
        return None
    if kind == "url_verification":
        return None if isinstance(body.get("challenge"), str) else "challenge is not a string"
    return None


def _fields_problem(obj: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            return f"event.{name} is not a string"
    return None


def is_handled_type(body: Mapping[str, Any]) -> bool:
    """Request types the framework knows how to route; the rest are acknowledged unread."""
    return "command" in body or body.get("type") in {
        "event_callback",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "url_verification",
        "ssl_check",
    }


# -- fields ------------------------------------------------------------------------------


def user_team(event: Mapping[str, Any]) -> str | None:
    """The workspace of the person behind an event or action, where Slack says."""
    team = event.get("user_team") or event.get("team_id") or event.get("team")
    return team if isinstance(team, str) else None


def slack_id(value: Any) -> str | None:
    """A Slack id (team, channel, user, ...) as stored, or None if `value` is not one."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def slack_ts(value: Any) -> str | None:
    return value if isinstance(value, str) and _TS.fullmatch(value) else None


def small_number(value: Any) -> int | None:
    """ASCII digits that fit a database integer, as an int; None otherwise ("²" too)."""
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else None


def name(value: Any) -> str | None:
    """An emoji name, severity id or similar short token."""
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None


def key(*parts: str, limit: int = 200) -> str:
    """A key that fits a `limit`-character column: a longer one keeps its start and ends in
    a digest of the whole, so distinct keys stay distinct."""
    text = ":".join(parts)
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return text[: limit - 65] + "#" + digest


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` with what no database text column takes (NUL, lone UTF-16 surrogates)
    replaced by U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value
