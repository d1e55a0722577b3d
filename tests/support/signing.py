"""Slack request signing as the tests use it: the demo's driver (bot/demo/stand_in/signing.py)
plus ways to forge a bad request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.demo.stand_in import signing as core
from bot.demo.stand_in.signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    RETRY_NUM_HEADER,
    RETRY_REASON_HEADER,
    Response,
    encode_event,
    encode_form,
    encode_interaction,
    retry_headers,
    sign,
)

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "RETRY_NUM_HEADER",
    "RETRY_REASON_HEADER",
    "Response",
    "SlackDriver",
    "encode_event",
    "encode_form",
    "encode_interaction",
    "retry_headers",
    "sign",
]


class SlackDriver(core.SlackDriver):
    """The demo's driver. To forge a bad request, pass `secret=` (sign with another secret),
    `timestamp=` (e.g. a stale one) or `omit=` (header names to leave out); or build the bytes
    and headers yourself for `raw()`."""

    def signed_headers(
        self, body: bytes, *, secret: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        ts = self.timestamp() if timestamp is None else timestamp
        return sign(self.signing_secret if secret is None else secret, body, ts)

    def event(
        self,
        payload: Mapping[str, Any],
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        omit: Iterable[str] = (),
    ) -> Response:
        extra = retry_headers(retry_num, retry_reason)
        return self._forge(encode_event(payload), JSON_CONTENT_TYPE, extra, secret, timestamp, omit)

    def command(
        self,
        form: Mapping[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        omit: Iterable[str] = (),
    ) -> Response:
        self.issue_trigger(form)
        return self._forge(encode_form(form), FORM_CONTENT_TYPE, {}, secret, timestamp, omit)

    def interaction(
        self,
        payload: Mapping[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        omit: Iterable[str] = (),
    ) -> Response:
        self.issue_trigger(payload)
        body = encode_interaction(payload)
        return self._forge(body, FORM_CONTENT_TYPE, {}, secret, timestamp, omit)

    def _forge(
        self,
        body: bytes,
        content_type: str,
        extra: dict[str, str],
        secret: str | None,
        timestamp: int | None,
        omit: Iterable[str],
    ) -> Response:
        headers = {"Content-Type": content_type, **extra}
        headers.update(self.signed_headers(body, secret=secret, timestamp=timestamp))
        dropped = {name.lower() for name in omit}
        return self.raw(body, {k: v for k, v in headers.items() if k.lower() not in dropped})
