"""Page webhooks: a JSON POST an external pager can trust. The body is signed like Slack
signs its requests: `v1=` + hex HMAC-SHA256 of `v1:{timestamp}:{body}` under the shared
secret, sent in `X-Escalation-Bot-Signature` with the timestamp in
`X-Escalation-Bot-Request-Timestamp`. `X-Escalation-Bot-Delivery` stays the same across
retries of one page, so a receiver can drop a repeat.

A call has one deadline for all of it (connecting, TLS, sending, the answer's status line
and headers), not a timeout per read: a receiver trickling its answer a byte at a time is
cut off at the deadline like one that never answers. Redirects are not followed, so the
signature headers go to the host the policy names and nowhere else."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any
from urllib.parse import urlsplit

SIGNATURE = "X-Escalation-Bot-Signature"
TIMESTAMP = "X-Escalation-Bot-Request-Timestamp"
DELIVERY = "X-Escalation-Bot-Delivery"
DEADLINE_SECONDS = 10.0


class HttpStatusError(Exception):
    """An HTTP endpoint other than the Web API (a page webhook) answered with an error."""

    def __init__(self, status: int) -> None:
        # Not the body: what a third party answers has no business in the logs.
        redirect = " (a redirect, not followed)" if 300 <= status < 400 else ""
        super().__init__(f"answered HTTP {status}{redirect}")
        self.status = status


class DeadlinePassed(TimeoutError):
    """The receiver did not answer in full within the call's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v1:" + timestamp.encode() + b":" + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def post(
    url: str,
    payload: dict[str, Any],
    secret: str | None,
    delivery: str,
    deadline: float = DEADLINE_SECONDS,
) -> int:
    """POST `payload` within `deadline` seconds; returns the status, or raises
    HttpStatusError (an error or a redirect), DeadlinePassed or a network error."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("a page webhook is an http(s) URL")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP: stamp, DELIVERY: delivery}
    if secret:
        headers[SIGNATURE] = sign(secret, stamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _until(time.monotonic() + deadline), _opener().open(request, timeout=deadline) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise HttpStatusError(exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DeadlinePassed(deadline) from None
        raise
    except TimeoutError:
        raise DeadlinePassed(deadline) from None


# -- the deadline: every socket operation of the call gets the time that is left ----------

_DEADLINE: ContextVar[float | None] = ContextVar("webhook_deadline", default=None)


@contextmanager
def _until(instant: float) -> Iterator[None]:
    token = _DEADLINE.set(instant)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _time_left() -> float | None:
    instant = _DEADLINE.get()
    if instant is None:
        return None
    left = instant - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _arm(sock: socket.socket) -> None:
    left = _time_left()
    if left is not None:
        sock.settimeout(left)


class _Armed:
    """Each read and write gets only the time left before the call's deadline."""

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        _arm(self)  # type: ignore[arg-type]
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        _arm(self)  # type: ignore[arg-type]
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]

    def send(self, *args: Any, **kwargs: Any) -> int:
        _arm(self)  # type: ignore[arg-type]
        return super().send(*args, **kwargs)  # type: ignore[misc]

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        _arm(self)  # type: ignore[arg-type]
        super().sendall(*args, **kwargs)  # type: ignore[misc]


class _DeadlineSocket(_Armed, socket.socket):
    pass


class _DeadlineSSLSocket(_Armed, ssl.SSLSocket):
    def do_handshake(self, *args: Any, **kwargs: Any) -> None:
        _arm(self)
        super().do_handshake(*args, **kwargs)


def _connect(
    address: tuple[str, int], timeout: float | None = None, source: Any = None
) -> socket.socket:
    sock = socket.create_connection(address, _time_left() or timeout, source)
    return _DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


@cache
def _tls() -> ssl.SSLContext:
    """urllib's default TLS settings (certificates checked), with sockets that keep time."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    context.sslsocket_class = _DeadlineSSLSocket
    return context


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=_tls())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError


def _opener() -> urllib.request.OpenerDirector:
    # Built per call, as the environment's proxy settings (HTTPS_PROXY, NO_PROXY) are now.
    return urllib.request.build_opener(_HTTPHandler(), _HTTPSHandler(), _NoRedirects())
