"""Slack request signing, and a driver that sends signed requests to the bot as Slack would.

Signing follows Slack's scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`
keyed by the app's signing secret. The driver uses only the standard library so the
`demo` command can use it without test extras; the tests' driver (tests/support/signing.py)
adds ways to forge a bad request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from bot.clock import Clock, SystemClock
from bot.slack.guard import SIGNATURE_HEADER, TIMESTAMP_HEADER

RETRY_NUM_HEADER = "X-Slack-Retry-Num"
RETRY_REASON_HEADER = "X-Slack-Retry-Reason"

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack sends to prove a request came from it."""
    base = b"v0:" + str(int(timestamp)).encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: str(int(timestamp)), SIGNATURE_HEADER: f"v0={digest}"}


def encode_event(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def encode_form(form: Mapping[str, Any]) -> bytes:
    # Percent-encode spaces as %20 and leave '/' and ':' bare, as in Slack's example bodies.
    return urlencode(form, quote_via=quote, safe="/:").encode("ascii")


def encode_interaction(payload: Mapping[str, Any]) -> bytes:
    return encode_form({"payload": json.dumps(payload, separators=(",", ":"))})


def retry_headers(retry_num: int | None, retry_reason: str | None) -> dict[str, str]:
    """The headers of one of Slack's redeliveries; none for a first delivery."""
    if retry_num is None:
        return {}
    return {RETRY_NUM_HEADER: str(retry_num), RETRY_REASON_HEADER: retry_reason or "http_timeout"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class TriggerIssuer(Protocol):
    def issue_trigger(self, trigger_id: str) -> None: ...


class SlackDriver:
    """Sends Events API, slash command and interactivity requests to `{base_url}/slack/events`,
    each signed with the configured secret at the clock's current time."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        clock: Clock | None = None,
        *,
        path: str = "/slack/events",
        timeout: float = 10.0,
        slack: TriggerIssuer | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + path
        # Slack mints a request's trigger_id as it sends it; the stand-in is told, so that
        # it can hold views.open to Slack's 3-second window.
        self._slack = slack
        self.signing_secret = signing_secret
        self._clock = clock or SystemClock()
        self._timeout = timeout
        # An empty ProxyHandler keeps HTTP(S)_PROXY from routing local requests elsewhere.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def timestamp(self) -> int:
        return int(self._clock.now().timestamp())

    def signed_headers(self, body: bytes) -> dict[str, str]:
        return sign(self.signing_secret, body, self.timestamp())

    def event(
        self,
        payload: Mapping[str, Any],
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Response:
        """An Events API delivery; `retry_num` makes it one of Slack's redeliveries."""
        extra = retry_headers(retry_num, retry_reason)
        return self._send(encode_event(payload), JSON_CONTENT_TYPE, extra)

    def command(self, form: Mapping[str, Any]) -> Response:
        """A slash command invocation (form-encoded fields, see payloads.slash_command)."""
        self.issue_trigger(form)
        return self._send(encode_form(form), FORM_CONTENT_TYPE, {})

    def interaction(self, payload: Mapping[str, Any]) -> Response:
        """A block action or view submission, sent as `payload=<json>` form data."""
        self.issue_trigger(payload)
        return self._send(encode_interaction(payload), FORM_CONTENT_TYPE, {})

    def issue_trigger(self, payload: Mapping[str, Any]) -> None:
        trigger = payload.get("trigger_id")
        if self._slack is not None and isinstance(trigger, str) and trigger:
            self._slack.issue_trigger(trigger)

    def raw(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST exactly these bytes and headers; nothing is added or signed."""
        request = urllib.request.Request(self.url, data=body, headers=dict(headers), method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as resp:
                return Response(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as err:
            with err:
                return Response(err.code, err.read(), dict(err.headers.items()))

    def _send(self, body: bytes, content_type: str, extra: dict[str, str]) -> Response:
        headers = {"Content-Type": content_type, **extra, **self.signed_headers(body)}
        return self.raw(body, headers)
