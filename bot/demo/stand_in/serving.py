"""The Slack stand-in's HTTP side: a real server on 127.0.0.1, so the bot talks to it through
an unmodified `slack_sdk.WebClient(base_url=fake.base_url)`. It decodes a call the way Slack
does (form or JSON, token in the body or an Authorization header), authenticates it, applies
Slack's rules, dispatches it to the method table, and logs it; and it serves response URLs.

The tests extend it through the hooks `_apply_fault`, `_authenticate`, `_serve_other`,
`_decode`, the `METHODS` table and `CREDENTIAL_PARAMS`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import selectors
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bot.demo.stand_in.enforcement import Enforcement
from bot.demo.stand_in.model import ApiError, Call, WebApiMethod

# Fields that a form-encoded call carries as JSON text.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


class _Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line to stderr, query string (and any token) included.
        return


class PromptServer(ThreadingHTTPServer):
    """A threaded HTTP server that stops at once: socketserver's `serve_forever` notices
    `shutdown()` only at its next poll, so every stop waited up to a poll interval. Run
    `serve` in a thread; `stop` wakes it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False

    def serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self and not self._stopping:
                        self.handle_request()  # ready: it accepts without waiting

    def stop(self) -> None:
        """From another thread: `serve` returns (join its thread), then `server_close`."""
        self._stopping = True
        self._wake_w.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()


class Server(PromptServer):
    # socketserver's default listen backlog of 5 makes bursts of concurrent calls wait out
    # a one-second SYN retransmit.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: Serving) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class Recorder:
    """Writes the one Call for a request once its outcome is known."""

    def __init__(
        self,
        fake: Serving,
        method: str,
        path: str,
        params: dict[str, Any],
        headers: dict[str, str],
        token_present: bool,
        token_valid: bool,
    ) -> None:
        self._fake = fake
        self._fields = {
            "method": method,
            "path": path,
            "params": params,
            "headers": headers,
            "token_present": token_present,
            "token_valid": token_valid,
        }
        self.fault: str | None = None
        self.team: str | None = None

    def __call__(self, status: int | None, response: dict[str, Any] | None) -> None:
        self._fake._record(
            status=status,
            response=copy.deepcopy(response),
            fault=self.fault,
            team=self.team,
            **self._fields,
        )


class Serving(Enforcement):
    """The server's lifecycle and the path of a request through the stand-in."""

    # The Web API methods the stand-in answers, by name (FakeSlack fills it in).
    METHODS: ClassVar[dict[str, WebApiMethod]] = {}
    # Request parameters that are credentials, kept out of the call log.
    CREDENTIAL_PARAMS: ClassVar[frozenset[str]] = frozenset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = Server(("127.0.0.1", self._port), self)
        self._thread = threading.Thread(target=self._server.serve, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stop()
        if thread is not None:
            thread.join(timeout=5)
        server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For `WebClient(base_url=...)`; the trailing slash matters to its urljoin."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def token(self) -> str:
        return self._token

    def response_url(self, name: str) -> str:
        """A URL that records whatever JSON is posted to it, under `name`: Slack's
        response_url, good for 5 posts within 30 minutes of this call."""
        with self._lock:
            self._response_urls.issue(name, self._clock.now())
        return f"http://127.0.0.1:{self.port}/response/{quote(name, safe='')}"

    # ------------------------------------------------------------------ requests

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        headers = {
            k: v for k, v in req.headers.items() if k.lower() not in ("authorization", "cookie")
        }
        if parts.path.startswith("/api/"):
            self._serve_api(req, parts.path, parts.query, body, headers)
        elif parts.path.startswith("/response/"):
            self._serve_response_url(req, parts.path, body, headers)
        else:
            self._serve_other(req, parts.path, body, headers)

    def _serve_api(
        self,
        req: BaseHTTPRequestHandler,
        path: str,
        query: str,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        method = path[len("/api/") :]
        try:
            params, token = self._decode(req, query, body)
            bad_body = None
        except ValueError:
            params, token, bad_body = {}, None, "invalid_json"
        token_present, token_valid, caller = self._authenticate(method, token)
        shown = {k: v for k, v in params.items() if k not in self.CREDENTIAL_PARAMS}
        record = Recorder(self, method, path, shown, headers, token_present, token_valid)
        record.team = caller[0] if caller else None
        if self._apply_fault(req, method, record):
            return

        if bad_body:
            result = {"ok": False, "error": bad_body}
        elif method not in self.METHODS:
            result = {"ok": False, "error": "unknown_method"}
        elif not token_present:
            result = {"ok": False, "error": "not_authed"}
        elif not token_valid:
            result = {"ok": False, "error": "invalid_auth"}
        else:
            with self._lock:
                wait = self._rate_limited(method, params, caller)
                if wait is not None:
                    result = {"ok": False, "error": "ratelimited"}
                    record(429, result)
                    self._send(req, 429, result, {"Retry-After": str(wait)})
                    return
                self._caller = caller
                try:
                    self._check_scopes(method, params, token)
                    result = {"ok": True, **self.METHODS[method](self, params)}
                except ApiError as e:
                    result = {"ok": False, "error": e.error, **e.extra}
        record(200, result)
        self._send(req, 200, result)

    def _serve_response_url(
        self, req: BaseHTTPRequestHandler, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        name = unquote(path[len("/response/") :])
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        params = {"name": name, "body": payload}
        record = Recorder(self, "response_url", path, params, headers, False, False)
        if self._apply_fault(req, "response_url", record):
            return
        with self._lock:
            refused = (
                self._response_urls.use(name, self._clock.now())
                if self.enforces("response_url")
                else None
            )
        if refused is not None:
            # Slack answers a spent, expired or unknown response_url with 404 and a word.
            record(404, {"ok": False, "error": refused})
            self._send_text(req, 404, refused)
            return
        if not isinstance(payload, dict):
            result = {"ok": False, "error": "invalid_payload"}
            record(400, result)
            self._send(req, 400, result)
            return
        result = {"ok": True}
        record(200, result)
        self._send(req, 200, result)

    def _serve_other(
        self, req: BaseHTTPRequestHandler, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        """A path neither under /api/ nor /response/."""
        self._send(req, 404, {"ok": False, "error": "not_found"})

    def _authenticate(
        self, method: str, token: str | None
    ) -> tuple[bool, bool, tuple[str, str, str] | None]:
        """Whether a token was sent, whether it is valid, and the workspace it belongs to."""
        with self._lock:
            caller = self._workspaces.get(str(token)) if token else None
        return bool(token), caller is not None, caller

    def _apply_fault(self, req: BaseHTTPRequestHandler, method: str, record: Recorder) -> bool:
        """Act on an injected fault; True when it has already answered the request. The demo
        injects none."""
        return False

    def _decode(
        self, req: BaseHTTPRequestHandler, query: str, body: bytes
    ) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = _form(query) if query else {}
        content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body and content_type == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            params.update(data)
        elif body:
            params.update(_form(body.decode("utf-8")))
        for key in _JSON_FIELDS:
            if isinstance(params.get(key), str):
                # Malformed JSON text stays a string, which the method then rejects or stores.
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        token = params.pop("token", None)
        auth = req.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        return params, token

    # ------------------------------------------------------------------ answers and the log

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json; charset=utf-8")
            req.send_header("Content-Length", str(len(data)))
            for key, value in (extra_headers or {}).items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. timed out during an injected delay); Slack would have
            # done the work anyway, and so has the fake.
            pass

    @staticmethod
    def _send_text(req: BaseHTTPRequestHandler, status: int, text: str) -> None:
        data = text.encode("utf-8")
        try:
            req.send_response(status)
            req.send_header("Content-Type", "text/plain; charset=utf-8")
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _record(self, **fields: Any) -> None:
        with self._changed:
            self._calls.append(Call(seq=next(self._seq), at=self._clock.now(), **fields))
            self._changed.notify_all()


def _form(text: str) -> dict[str, Any]:
    parsed = parse_qs(text, keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
