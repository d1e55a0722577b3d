"""Page webhooks: a JSON POST an external pager can trust. The body is signed like Slack
signs its requests: `v1=` + hex HMAC-SHA256 of `v1:{timestamp}:{body}` under the shared
secret, sent in `X-Escalation-Bot-Signature` with the timestamp in
`X-Escalation-Bot-Request-Timestamp`. `X-Escalation-Bot-Delivery` stays the same across
retries of one page, so a receiver can drop a repeat."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

SIGNATURE = "X-Escalation-Bot-Signature"
TIMESTAMP = "X-Escalation-Bot-Request-Timestamp"
DELIVERY = "X-Escalation-Bot-Delivery"
TIMEOUT_SECONDS = 10.0


class HttpStatusError(Exception):
    """An HTTP endpoint other than the Web API (a page webhook) answered with an error."""

    def __init__(self, status: int) -> None:
        # Not the body: what a third party answers has no business in the logs.
        super().__init__(f"answered HTTP {status}")
        self.status = status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v1:" + timestamp.encode() + b":" + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post(url: str, payload: dict[str, Any], secret: str | None, delivery: str) -> int:
    """POST `payload`; returns the status, or raises HttpStatusError (or a network error)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP: stamp, DELIVERY: delivery}
    if secret:
        headers[SIGNATURE] = sign(secret, stamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        raise HttpStatusError(exc.code) from None
