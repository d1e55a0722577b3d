"""A table of hostile and clumsy requests to the bot's door, each with the status it must
get: unsigned, forged or malformed headers (401), signed bodies that cannot be read (400),
and readable ones of shapes the bot cannot use (acknowledged with 200 and dropped)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import DEFAULT_TEAM_ID
from tests.support.logscan import BODY_MARKER
from tests.support.server import SIGNING_SECRET
from tests.support.signing import encode_form, encode_interaction

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Slack's signature headers for `body`, with the right secret (at `timestamp`, or now)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


@dataclass(frozen=True)
class Probe:
    """One request to the door and the status it must get."""

    name: str
    body: bytes
    content_type: str
    headers: Callable[[bytes], dict[str, str]]
    status: int


def _unsigned(body: bytes) -> dict[str, str]:
    return {}


def bad_secret(body: bytes) -> dict[str, str]:
    """Signature headers for `body` made with a secret that is not the bot's."""
    ts = str(int(time.time()))
    digest = hmac.new(b"not the secret", f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def signed_at(value: str) -> Callable[[bytes], dict[str, str]]:
    """Signature headers with `value` as their timestamp, whatever it is."""
    # The signature is computed over the same malformed timestamp, as a forger would.
    return lambda body: signed(body, value)


def _signature(value: str) -> Callable[[bytes], dict[str, str]]:
    return lambda body: {**signed(body), "X-Slack-Signature": value}


def body_of(event: Any, **envelope: Any) -> bytes:
    """The JSON body of an Events API request carrying `event`."""
    body = {
        "token": "verification_token",
        # The stand-in's workspace: the bot drops requests for any other.
        "team_id": DEFAULT_TEAM_ID,
        "api_app_id": "A0FAKEAPP1",
        "type": "event_callback",
        "event_id": "Ev0HOSTILE1",
        "event_time": 1700000000,
        "event": event,
        **envelope,
    }
    return json.dumps(body).encode()


def reaction(**fields: Any) -> dict[str, Any]:
    """A `reaction_added` event, with `fields` replacing its own."""
    base: dict[str, Any] = {
        "type": "reaction_added",
        "user": ENGINEER,
        "reaction": "ticket",
        "item": {"type": "message", "channel": SUPPORT, "ts": "1700000000.000100"},
        "event_ts": "1700000001.000200",
        "text": BODY_MARKER,
    }
    return {**base, **fields}


def _action(**fields: Any) -> bytes:
    body = payloads.block_actions(
        action_id=f"{SET_SEVERITY_ACTION}:sev1",
        value="1:sev1",
        user=ENGINEER,
        channel=SUPPORT,
        message_ts="1700000000.000100",
    )
    body["marker"] = BODY_MARKER
    for key, value in fields.items():
        body[key] = value
    return encode_interaction(body)


def _button_value(value: str) -> bytes:
    body = payloads.block_actions(
        action_id=f"{SET_SEVERITY_ACTION}:sev1",
        value=value,
        user=ENGINEER,
        channel=SUPPORT,
        message_ts="1700000000.000100",
    )
    return encode_interaction(body)


DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_NUMBER = b'{"type": "event_callback", "n": ' + b"9" * 10_000 + b"}"
BODIES: list[tuple[str, bytes, str]] = [
    ("invalid JSON", b'{"type": "event_callback", "' + BODY_MARKER.encode(), JSON),
    ("JSON array", b'["' + BODY_MARKER.encode() + b'"]', JSON),
    ("JSON scalar", b"42", JSON),
    ("100,000-deep nesting", DEEP, JSON),
    ("10,000-digit number", HUGE_NUMBER, JSON),
    ("not UTF-8", b'{"text": "\xff\xfe' + BODY_MARKER.encode() + b'"}', JSON),
    ("garbage form payload", b"payload=%7Bnot+json+" + BODY_MARKER.encode(), FORM),
    ("form payload that is a list", encode_form({"payload": "[1, 2]"}), FORM),
]

CASES: list[Probe] = [
    # Unsigned, forged or malformed in their headers: 401 before any decoding.
    *(Probe(f"unsigned {n}", b, ct, _unsigned, 401) for n, b, ct in BODIES),
    *(Probe(f"wrong secret, {n}", b, ct, bad_secret, 401) for n, b, ct in BODIES[:3]),
    Probe("timestamp not a number", body_of(reaction()), JSON, signed_at("soon"), 401),
    Probe("fractional timestamp", body_of(reaction()), JSON, signed_at("1700000000.5"), 401),
    Probe("5,000-digit timestamp", body_of(reaction()), JSON, signed_at("9" * 5000), 401),
    Probe("negative timestamp", body_of(reaction()), JSON, signed_at("-1"), 401),
    Probe("stale timestamp", body_of(reaction()), JSON, signed_at("1000000000"), 401),
    Probe("empty timestamp", body_of(reaction()), JSON, signed_at(""), 401),
    Probe("signature not hex", body_of(reaction()), JSON, _signature("v0=" + "z" * 64), 401),
    Probe("signature of another scheme", body_of(reaction()), JSON, _signature("v1=abc"), 401),
    Probe(
        "signature 5,000 characters", body_of(reaction()), JSON, _signature("v0=" + "a" * 5000), 401
    ),
    # Correctly signed but unreadable: 400.
    *(Probe(f"signed {n}", b, ct, signed, 400) for n, b, ct in BODIES),
    # Correctly signed, readable, but not a shape the bot can use: acknowledged and dropped.
    Probe("event null", body_of(None), JSON, signed, 200),
    Probe("event a string", body_of(BODY_MARKER), JSON, signed, 200),
    Probe("event without a type", body_of({"user": ENGINEER}), JSON, signed, 200),
    Probe(
        "envelope without event", json.dumps({"type": "event_callback"}).encode(), JSON, signed, 200
    ),
    Probe("reaction a list", body_of(reaction(reaction=["ticket"])), JSON, signed, 200),
    Probe("item a string", body_of(reaction(item=BODY_MARKER)), JSON, signed, 200),
    Probe("user a number", body_of(reaction(user=12)), JSON, signed, 400),
    Probe("user a dict", body_of(reaction(user={"id": ENGINEER})), JSON, signed, 200),
    Probe(
        "channel id too long",
        body_of(reaction(item={"type": "message", "channel": "C" * 300, "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Probe(
        "channel id with NUL",
        body_of(reaction(item={"type": "message", "channel": "C0\x00", "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Probe(
        "channel id a lone surrogate",
        body_of(reaction(item={"type": "message", "channel": "C0\ud800", "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Probe(
        "ts not a ts",
        body_of(reaction(item={"type": "message", "channel": SUPPORT, "ts": "²"})),
        JSON,
        signed,
        200,
    ),
    Probe(
        "authorizations a string",
        body_of(reaction(), authorizations=BODY_MARKER),
        JSON,
        signed,
        400,
    ),
    Probe("event_id 5,000 characters", body_of(reaction(), event_id="E" * 5000), JSON, signed, 200),
    Probe(
        "app_mention",
        body_of({"type": "app_mention", "user": ENGINEER, "text": BODY_MARKER}),
        JSON,
        signed,
        200,
    ),
    Probe("unknown event", body_of({"type": "no_such_event", "x": BODY_MARKER}), JSON, signed, 200),
    Probe(
        "unknown request type",
        json.dumps({"type": "mystery", "x": BODY_MARKER}).encode(),
        JSON,
        signed,
        200,
    ),
    Probe("app_rate_limited", json.dumps(payloads.app_rate_limited()).encode(), JSON, signed, 200),
    Probe("actions empty", _action(actions=[]), FORM, signed, 200),
    Probe("actions a string", _action(actions=BODY_MARKER), FORM, signed, 200),
    Probe("action without action_id", _action(actions=[{"value": "1:sev1"}]), FORM, signed, 200),
    Probe("user a string in an action", _action(user=BODY_MARKER), FORM, signed, 200),
    Probe("container a string", _action(container=BODY_MARKER), FORM, signed, 200),
    Probe(
        "unknown action", _action(actions=[{"action_id": "nope", "value": "x"}]), FORM, signed, 200
    ),
    Probe("25-digit case id", _button_value("1" * 25 + ":sev1"), FORM, signed, 200),
    Probe("superscript digit case id", _button_value("²:sev1"), FORM, signed, 200),
    Probe("severity with NUL", _button_value("1:sev\x001"), FORM, signed, 200),
    Probe(
        "unknown slash command",
        encode_form(
            payloads.slash_command("/nope", BODY_MARKER, user_id=ENGINEER, channel_id=SUPPORT)
        ),
        FORM,
        signed,
        200,
    ),
    Probe(
        "view_submission with view a string",
        encode_interaction(
            {"type": "view_submission", "view": BODY_MARKER, "user": {"id": ENGINEER}}
        ),
        FORM,
        signed,
        200,
    ),
    Probe(
        "challenge not a string",
        json.dumps({"type": "url_verification", "challenge": [1]}).encode(),
        JSON,
        signed,
        200,
    ),
]
