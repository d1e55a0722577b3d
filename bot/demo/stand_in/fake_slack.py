"""A local stand-in for Slack's Web API: what the `demo` command needs to run the bot.

It is a real HTTP server, so the bot talks to it through an unmodified
`slack_sdk.WebClient(base_url=fake.base_url)`. Responses follow the shapes of Slack's own
examples (`tests/fixtures/slack/`). State is kept in memory and
guarded by one lock, because the server answers each request on its own thread.

Tokens are checked but never stored: the call log keeps only whether one was sent and
whether it matched.

The tests extend it (tests/support/fake_slack.py) with fault injection, OAuth installs, file
uploads and helpers of their own, through the hooks `_apply_fault`, `_authenticate`,
`_serve_other` and the `_methods` registry.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, SystemClock
from bot.demo.stand_in import rules
from bot.slack.limits import NON_MARKETPLACE, NON_MARKETPLACE_PAGE, Profile
from bot.slack.surface import SCOPES

DEFAULT_TOKEN = "xoxb-fake-slack-bot-token"
# Workspace identity from Bolt's mock server (fixture webapi_auth.test.bot_bolt.json).
DEFAULT_TEAM_ID = "T0G9PQBBK"
DEFAULT_TEAM_NAME = "Subarachnoid Workspace"
DEFAULT_TEAM_DOMAIN = "subarachnoid"
DEFAULT_BOT_USER_ID = "W23456789"
DEFAULT_BOT_ID = "BZYBOTHED"
DEFAULT_BOT_NAME = "bot"
DEFAULT_APP_ID = "A0FAKEAPP01"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Slack rejects a thread_ts that is not a timestamp at all, but accepts a well-formed one that
# matches no message (the reply is stored and shows up nowhere).
_TS_SHAPE = re.compile(r"^\d+(\.\d+)?$")
# Fields that a form-encoded call carries as JSON text.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


# A Web API method's handler: the stand-in and the call's parameters -> the answer's fields.
WebApiMethod = Callable[[Any, dict[str, Any]], dict[str, Any]]


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@functools.lru_cache(maxsize=1 << 16)
def _ts_key(ts: str) -> Decimal:
    # Cached: history and replies order every message of a channel on each call.
    return Decimal(ts)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


@dataclass
class User:
    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    team_id: str = DEFAULT_TEAM_ID
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None
    # A guest: multi-channel (restricted) or single-channel (ultra restricted).
    is_restricted: bool = False
    is_ultra_restricted: bool = False


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_ext_shared: bool = False
    connected_team_ids: list[str] = field(default_factory=list)
    # Slack answers not_in_channel when the bot reads a conversation it has not joined;
    # set this to model a token that may read it anyway.
    readable_without_membership: bool = False
    im_user: str | None = None
    created: int = 0
    # The workspace the channel belongs to (None: the stand-in's own); a token of another
    # workspace sees it only when that workspace is among `connected_team_ids`.
    team_id: str | None = None


@dataclass
class Message:
    channel: str
    ts: str
    user: str | None
    text: str
    team: str
    permalink: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    parent_user_id: str | None = None
    metadata: dict[str, Any] | None = None
    reply_users: list[str] = field(default_factory=list)
    reply_count: int = 0
    latest_reply: str | None = None
    reactions: list[dict[str, Any]] = field(default_factory=list)
    edited: dict[str, str] | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self) -> dict[str, Any]:
        """The message as conversations.history / conversations.replies return it."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user is not None:
            out["user"] = self.user
        out["team"] = self.team
        if self.subtype:
            out["subtype"] = self.subtype
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.blocks is not None:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.is_reply and self.parent_user_id:
            out["parent_user_id"] = self.parent_user_id
        if self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users_count"] = len(self.reply_users)
            out["reply_users"] = list(self.reply_users)
            out["latest_reply"] = self.latest_reply
        if self.reactions:
            out["reactions"] = copy.deepcopy(self.reactions)
        if self.edited:
            out["edited"] = dict(self.edited)
        if self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        return out


@dataclass(frozen=True)
class Call:
    """One request the fake received. Never holds a token."""

    seq: int
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    token_present: bool
    token_valid: bool
    # None when the connection was dropped without an answer.
    status: int | None
    response: dict[str, Any] | None
    at: datetime
    fault: str | None = None
    # The workspace whose token made the call (None without a valid token).
    team: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line to stderr, query string (and any token) included.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog of 5 makes bursts of concurrent calls wait out
    # a one-second SYN retransmit.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class FakeSlack:
    """Slack's Web API on 127.0.0.1, with seeded state and a call log."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = DEFAULT_TEAM_NAME,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        app_id: str = DEFAULT_APP_ID,
        clock: Clock | None = None,
        port: int = 0,
        scopes: Iterable[str] = SCOPES,
        rate_profile: Profile = "internal",
    ) -> None:
        self._token = token
        # The scopes every token of this app was granted: the manifest's bot scopes.
        self.scopes = tuple(scopes)
        self._rates = rules.RateLimiter(rate_profile)
        self._triggers = rules.Triggers()
        self._response_urls = rules.ResponseUrls()
        # Rules a test switched off, with the reason it gave.
        self.relaxed: dict[str, str] = {}
        # Every workspace's bot token -> (team id, team name, bot user id), for apps installed
        # in several workspaces; the first is the one given above.
        self._workspaces: dict[str, tuple[str, str, str]] = {
            token: (team_id, team_name, bot_user_id)
        }
        self._caller: tuple[str, str, str] | None = None
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self._clock = clock or SystemClock()
        self._port = port

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, dict[str, Message]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._opened_views: list[dict[str, Any]] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._last_ts_micros = 0
        self._ids = itertools.count(1)

        self._calls: list[Call] = []
        self._posted: list[Message] = []
        self._seq = itertools.count(1)

        self.add_user(bot_user_id, bot_name, bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
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

    def issue_trigger(self, trigger_id: str) -> None:
        """Slack mints a trigger_id with the request that carries it: it is good for one
        views.open within 3 seconds of now (the stand-in's clock)."""
        with self._lock:
            self._triggers.issue(trigger_id, self._clock.now())

    RULES = ("scopes", "rate_limits", "trigger_id", "blocks", "response_url", "teams")

    def relax(self, rule: str, *, why: str) -> None:
        """Switch one of Slack's rules off; only for a test that says why."""
        if rule not in self.RULES:
            raise ValueError(f"unknown rule {rule!r}; the rules are {', '.join(self.RULES)}")
        if not why.strip():
            raise ValueError("say why the rule is switched off")
        self.relaxed[rule] = why

    def enforces(self, rule: str) -> bool:
        return rule not in self.relaxed

    def set_rate_profile(self, profile: Profile) -> None:
        """ "internal" (Tier 3 reads) or "non_marketplace" (1 read a minute, 15 a page)."""
        with self._lock:
            self._rates = rules.RateLimiter(profile)

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        *,
        team_id: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        guest: bool = False,
    ) -> User:
        user = User(
            id=id,
            name=name,
            real_name=real_name if real_name is not None else name,
            tz=tz,
            team_id=team_id or self.team_id,
            is_bot=is_bot,
            deleted=deleted,
            email=email,
            is_restricted=guest,
        )
        with self._lock:
            self._users[id] = user
        return user

    def add_channel(
        self,
        id: str,
        name: str,
        bot_member: bool = True,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        is_ext_shared: bool = False,
        connected_team_ids: Iterable[str] = (),
        readable_without_membership: bool = False,
        team_id: str | None = None,
    ) -> Channel:
        channel = Channel(
            team_id=team_id,
            id=id,
            name=name,
            members=list(members),
            bot_member=bot_member,
            is_private=is_private,
            is_ext_shared=is_ext_shared,
            connected_team_ids=list(connected_team_ids),
            readable_without_membership=readable_without_membership,
            created=int(self._clock.now().timestamp()),
        )
        with self._lock:
            self._channels[id] = channel
            self._messages.setdefault(id, {})
        return channel

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        team: str | None = None,
    ) -> str:
        """Store a message as if a person had posted it; returns its minted ts."""
        with self._lock:
            ch = self._require_channel(channel)
            if user not in ch.members:
                ch.members.append(user)
            if team is None:
                known = self._users.get(user)
                team = known.team_id if known else self.team_id
            msg = self._store_message(
                ch, user=user, text=text, blocks=blocks, thread_ts=thread_ts, team=team
            )
            self._changed.notify_all()
            return msg.ts

    # ------------------------------------------------------------------ state queries

    def user(self, id: str) -> User | None:
        with self._lock:
            return self._users.get(id)

    def channel(self, id: str) -> Channel | None:
        with self._lock:
            return self._channels.get(id)

    def opened_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._opened_views)

    # ------------------------------------------------------------------ call log

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posted_messages(self, channel: str | None = None) -> list[Message]:
        """Messages the bot posted successfully with chat.postMessage, as they were posted."""
        with self._lock:
            return [
                copy.deepcopy(m) for m in self._posted if channel is None or m.channel == channel
            ]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies posted to response URLs (all of them, or those under `name`)."""
        return [
            c.params["body"]
            for c in self.calls("response_url")
            if c.ok and (name is None or c.params["name"] == name)
        ]

    # ------------------------------------------------------------------ HTTP plumbing

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
        shown = {k: v for k, v in params.items() if k not in self._credential_params}
        record = _Recorder(self, method, path, shown, headers, token_present, token_valid)
        record.team = caller[0] if caller else None
        if self._apply_fault(req, method, record):
            return

        if bad_body:
            result = {"ok": False, "error": bad_body}
        elif method not in self._methods:
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
                    result = {"ok": True, **self._methods[method](self, params)}
                except _ApiError as e:
                    result = {"ok": False, "error": e.error, **e.extra}
        record(200, result)
        self._send(req, 200, result)

    def _rate_limited(
        self, method: str, params: dict[str, Any], caller: tuple[str, str, str] | None
    ) -> int | None:
        if not self.enforces("rate_limits") or caller is None:
            return None
        channel = str(params.get("channel") or "")
        return self._rates.take(caller[0], method, channel, self._clock.now())

    def _check_scopes(self, method: str, params: dict[str, Any], token: str | None) -> None:
        if not self.enforces("scopes"):
            return
        granted = self._granted_scopes(token)
        ch = self._channels.get(str(params.get("channel") or ""))
        kind = (
            None if ch is None else "im" if ch.is_im else "private" if ch.is_private else "public"
        )
        needed = rules.needed_scopes(method, kind)
        if any(scope not in granted for scope in needed):
            raise _ApiError(
                "missing_scope", needed=",".join(needed), provided=",".join(sorted(granted))
            )

    def _granted_scopes(self, token: str | None) -> tuple[str, ...]:
        return self.scopes

    def _page_limit(self, method: str, p: dict[str, Any]) -> None:
        """Apps outside the Marketplace read at most 15 messages a page."""
        if self._rates.profile == "non_marketplace" and method in NON_MARKETPLACE:
            try:
                asked = int(p.get("limit") or NON_MARKETPLACE_PAGE)
            except (TypeError, ValueError):
                asked = NON_MARKETPLACE_PAGE
            p["limit"] = min(asked, NON_MARKETPLACE_PAGE)

    def _serve_response_url(
        self, req: BaseHTTPRequestHandler, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        name = unquote(path[len("/response/") :])
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        params = {"name": name, "body": payload}
        record = _Recorder(self, "response_url", path, params, headers, False, False)
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

    def _apply_fault(self, req: BaseHTTPRequestHandler, method: str, record: _Recorder) -> bool:
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

    # ------------------------------------------------------------------ model helpers

    def _mint_ts(self) -> str:
        micros = (self._clock.now() - _EPOCH) // timedelta(microseconds=1)
        micros = max(micros, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def _permalink(self, channel: str, ts: str, thread_ts: str | None) -> str:
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    def _require_channel(self, channel: str) -> Channel:
        ch = self._channels.get(channel)
        if ch is None:
            raise KeyError(f"unknown channel {channel}")
        return ch

    def _store_message(
        self,
        ch: Channel,
        *,
        user: str | None,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
        team: str,
        bot: bool = False,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        stored = self._messages.setdefault(ch.id, {})
        parent = stored.get(thread_ts) if thread_ts else None
        if parent is not None and parent.is_reply:
            # A reply to a reply lands in the same thread, as in Slack.
            thread_ts = parent.thread_ts
            parent = stored.get(thread_ts) if thread_ts else None
        ts = self._mint_ts()
        msg = Message(
            channel=ch.id,
            ts=ts,
            user=user,
            text=text,
            team=team,
            permalink=self._permalink(ch.id, ts, thread_ts),
            blocks=copy.deepcopy(blocks),
            thread_ts=thread_ts,
            bot_id=self.bot_id if bot else None,
            app_id=self.app_id if bot else None,
            subtype="thread_broadcast" if broadcast and thread_ts else None,
            parent_user_id=parent.user if parent else None,
            metadata=copy.deepcopy(metadata),
        )
        stored[ts] = msg
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.reply_count += 1
            parent.latest_reply = ts
            if user and user not in parent.reply_users:
                parent.reply_users.append(user)
        return msg

    def _channel_for(self, channel_id: Any) -> Channel:
        if not channel_id:
            raise _ApiError("channel_not_found")
        channel_id = str(channel_id)
        ch = self._channels.get(channel_id)
        if ch is None and channel_id.startswith("#"):
            ch = next((c for c in self._channels.values() if c.name == channel_id[1:]), None)
        if ch is None or not self._visible_to_caller(ch):
            raise _ApiError("channel_not_found")
        return ch

    def _visible_to_caller(self, ch: Channel) -> bool:
        """A token sees its own workspace's conversations and those shared with it."""
        if self._caller is None or not self.enforces("teams"):
            return True
        team = self._caller[0]
        return (ch.team_id or self.team_id) == team or team in ch.connected_team_ids

    def _postable_channel(self, channel_id: Any) -> Channel:
        """Resolve a post target; a user ID means the bot's DM with that user."""
        if channel_id and str(channel_id) in self._users and str(channel_id) not in self._channels:
            return self._im_with(str(channel_id))
        ch = self._channel_for(channel_id)
        if not ch.bot_member:
            raise _ApiError("not_in_channel")
        return ch

    def _readable_channel(self, channel_id: Any) -> Channel:
        ch = self._channel_for(channel_id)
        if not ch.bot_member and not ch.readable_without_membership:
            raise _ApiError("not_in_channel")
        return ch

    def _im_with(self, user: str) -> Channel:
        for ch in self._channels.values():
            if ch.is_im and ch.im_user == user:
                return ch
        ch = Channel(
            id=self._new_id("D"),
            name=user,
            members=[user],
            is_im=True,
            is_private=True,
            im_user=user,
            team_id=self._caller[0] if self._caller else None,
            created=int(self._clock.now().timestamp()),
        )
        self._channels[ch.id] = ch
        self._messages[ch.id] = {}
        return ch

    def _channel_api(self, ch: Channel, include_num_members: bool = False) -> dict[str, Any]:
        if ch.is_im:
            return {
                "id": ch.id,
                "created": ch.created,
                "is_im": True,
                "is_org_shared": False,
                "user": ch.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        out: dict[str, Any] = {
            "id": ch.id,
            "name": ch.name,
            "is_channel": not ch.is_private,
            "is_group": ch.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": ch.is_private,
            "created": ch.created,
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": ch.name,
            "is_shared": ch.is_ext_shared,
            "is_ext_shared": ch.is_ext_shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "parent_conversation": None,
            "creator": ch.members[0] if ch.members else "",
            "is_member": ch.bot_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if ch.is_ext_shared:
            teams = ch.connected_team_ids or [self.team_id]
            out["connected_team_ids"] = list(teams)
            out["shared_team_ids"] = [t for t in teams if t != self.team_id]
            out["internal_team_ids"] = []
            out["conversation_host_id"] = teams[0]
        if include_num_members:
            out["num_members"] = len(ch.members) + (1 if ch.bot_member else 0)
        return out

    def _user_api(self, user: User) -> dict[str, Any]:
        try:
            zone = ZoneInfo(user.tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        local = self._clock.now().astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.name,
            "display_name_normalized": user.name,
            "team": user.team_id,
        }
        if user.email:
            profile["email"] = user.email
        if user.is_bot and user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": local.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": user.is_restricted,
            "is_ultra_restricted": user.is_ultra_restricted,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 0,
        }

    def _view_api(self, view: Any, **extra: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        out = copy.deepcopy(view)
        view_id = self._new_id("V")
        out.update(
            id=view_id,
            team_id=self.team_id,
            state={"values": {}},
            hash=f"{int(self._clock.now().timestamp())}.{view_id}",
            previous_view_id=None,
            root_view_id=view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
            **extra,
        )
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.setdefault("external_id", "")
        return out

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        team_id, team_name, bot_user = self._caller or (
            self.team_id,
            self.team_name,
            self.bot_user_id,
        )
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": team_name,
            "user": self.bot_name,
            "team_id": team_id,
            "user_id": bot_user,
            "bot_id": self.bot_id,
        }

    def _check_blocks(self, p: dict[str, Any]) -> None:
        if not self.enforces("blocks"):
            return
        text = p.get("text")
        if isinstance(text, str) and len(text) > rules.MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        if "blocks" in p and p["blocks"] not in (None, "", []):
            problems = rules.block_problems(p["blocks"])
            if problems:
                raise _ApiError(
                    "invalid_blocks", errors=problems, response_metadata={"messages": problems}
                )

    def _check_view(self, view: Any) -> None:
        if not self.enforces("blocks"):
            return
        problems = rules.view_problems(view)
        if problems:
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._postable_channel(p.get("channel"))
        self._check_blocks(p)
        text = p.get("text") or ""
        blocks = p.get("blocks") or None
        if not text and not blocks and not p.get("attachments"):
            raise _ApiError("no_text")
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        if thread_ts is not None and not _TS_SHAPE.match(thread_ts):
            raise _ApiError("invalid_thread_ts")
        msg = self._store_message(
            ch,
            user=self.bot_user_id,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            team=self.team_id,
            bot=True,
            broadcast=_truthy(p.get("reply_broadcast")),
            metadata=p.get("metadata") if isinstance(p.get("metadata"), dict) else None,
        )
        self._posted.append(copy.deepcopy(msg))
        return {"channel": ch.id, "ts": msg.ts, "message": msg.to_api()}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        msg = self._messages.get(ch.id, {}).get(str(p.get("ts") or ""))
        if msg is None:
            raise _ApiError("message_not_found")
        if msg.bot_id != self.bot_id:
            raise _ApiError("cant_update_message")
        self._check_blocks(p)
        text = (p.get("text") or "") if "text" in p else msg.text
        blocks = (copy.deepcopy(p.get("blocks")) or None) if "blocks" in p else msg.blocks
        if not text and not blocks:
            raise _ApiError("no_text")
        msg.text, msg.blocks = text, blocks
        msg.edited = {"user": self.bot_user_id, "ts": self._mint_ts()}
        return {"channel": ch.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._postable_channel(p.get("channel"))
        user = p.get("user")
        if not user or user not in self._users:
            raise _ApiError("user_not_found")
        if not ch.is_im and user not in ch.members:
            raise _ApiError("user_not_in_channel")
        self._check_blocks(p)
        if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
            raise _ApiError("no_text")
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
            raise _ApiError("message_not_found")
        return {"channel": ch.id, "permalink": msg.permalink}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        return {"channel": self._channel_api(ch, _truthy(p.get("include_num_members")))}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise _ApiError("not_enough_users" if not users else "method_not_supported")
        if users[0] not in self._users:
            raise _ApiError("user_not_found")
        return {"channel": {"id": self._im_with(users[0]).id}}

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable_channel(p.get("channel"))
        self._page_limit("conversations.history", p)
        stored = self._messages.get(ch.id, {})

        def visible(m: Message) -> bool:
            return not m.is_reply or m.subtype == "thread_broadcast"

        exact = stored.get(str(p.get("latest") or ""))
        if (
            exact is not None
            and visible(exact)
            and _truthy(p.get("inclusive"))
            and str(p.get("limit")) == "1"
            and not p.get("oldest")
            and not p.get("cursor")
        ):
            # One message by its ts, the way bots read the message they were told about:
            # the newest visible message at or before `latest` is that one; no need to order
            # the whole channel (the benchmark's stand-in would spend its CPU doing so).
            key = _ts_key(exact.ts)
            older = next((m for m in stored.values() if visible(m) and _ts_key(m.ts) < key), None)
            page, more = [exact], (_cursor_for(1) if older is not None else None)
        else:
            listed = _in_range([m for m in stored.values() if visible(m)], p)
            listed.sort(key=lambda m: _ts_key(m.ts), reverse=True)
            page, more = _paginate(listed, p, default_limit=100)
        out: dict[str, Any] = {
            "messages": [m.to_api() for m in page],
            "has_more": more is not None,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if more is not None:
            out["response_metadata"] = {"next_cursor": more}
        return out

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable_channel(p.get("channel"))
        self._page_limit("conversations.replies", p)
        stored = self._messages.get(ch.id, {})
        anchor = stored.get(str(p.get("ts") or ""))
        if anchor is None:
            raise _ApiError("thread_not_found")
        root_ts = anchor.thread_ts or anchor.ts
        root = stored.get(root_ts, anchor)
        replies = [m for m in stored.values() if m.is_reply and m.thread_ts == root.ts]
        replies = _in_range(replies, p)
        replies.sort(key=lambda m: _ts_key(m.ts))
        # The parent always comes first, whatever the range, as Slack does.
        thread = [root, *replies]
        page, more = _paginate(thread, p, default_limit=1000)
        out: dict[str, Any] = {"messages": [m.to_api() for m in page], "has_more": more is not None}
        if more is not None:
            out["response_metadata"] = {"next_cursor": more}
        return out

    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        members = [*ch.members, *([self.bot_user_id] if ch.bot_member else [])]
        try:
            limit = max(1, int(p.get("limit") or 100))
        except (TypeError, ValueError):
            limit = 100
        start = 0
        if p.get("cursor"):
            try:
                start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
            except ValueError:
                raise _ApiError("invalid_cursor") from None
        end = start + limit
        more = _cursor_for(end) if end < len(members) else ""
        return {"members": members[start:end], "response_metadata": {"next_cursor": more}}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(p.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": self._user_api(user)}

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup") or "")
        if group not in self._usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            raise _ApiError("invalid_arguments")
        self._check_view(p.get("view"))
        if self.enforces("trigger_id"):
            refused = self._triggers.exchange(p.get("trigger_id"), self._clock.now())
            if refused is not None:
                raise _ApiError(refused)
        view = self._view_api(p.get("view"))
        self._opened_views.append(view)
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user_id") or "")
        if user not in self._users:
            raise _ApiError("user_not_found")
        self._check_view(p.get("view"))
        view = self._view_api(p.get("view"))
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        self._home_views[user] = view
        return {"view": copy.deepcopy(view)}

    # The Web API methods the bot calls on one workspace's token, by name.
    _methods: ClassVar[dict[str, WebApiMethod]] = {
        "auth.test": _auth_test,
        "chat.postMessage": _chat_post_message,
        "chat.update": _chat_update,
        "chat.postEphemeral": _chat_post_ephemeral,
        "chat.getPermalink": _chat_get_permalink,
        "conversations.info": _conversations_info,
        "conversations.history": _conversations_history,
        "conversations.replies": _conversations_replies,
        "conversations.open": _conversations_open,
        "conversations.members": _conversations_members,
        "users.info": _users_info,
        "usergroups.users.list": _usergroups_users_list,
        "views.open": _views_open,
        "views.publish": _views_publish,
    }
    # Request parameters that are credentials, kept out of the call log.
    _credential_params: ClassVar[frozenset[str]] = frozenset()


class _Recorder:
    """Writes the one Call for a request once its outcome is known."""

    def __init__(
        self,
        fake: FakeSlack,
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


def _form(text: str) -> dict[str, Any]:
    parsed = parse_qs(text, keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}


def _parse_ts(value: Any, error: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _ApiError(error) from None


def _in_range(messages: list[Message], p: dict[str, Any]) -> list[Message]:
    """Apply latest/oldest/inclusive as conversations.history and .replies do."""
    inclusive = _truthy(p.get("inclusive"))
    out = messages
    if p.get("latest") not in (None, ""):
        latest = _parse_ts(p["latest"], "invalid_ts_latest")
        out = [m for m in out if _ts_key(m.ts) < latest or (inclusive and _ts_key(m.ts) == latest)]
    if p.get("oldest") not in (None, ""):
        oldest = _parse_ts(p["oldest"], "invalid_ts_oldest")
        out = [m for m in out if _ts_key(m.ts) > oldest or (inclusive and _ts_key(m.ts) == oldest)]
    return out


def _paginate(
    items: list[Message], p: dict[str, Any], *, default_limit: int
) -> tuple[list[Message], str | None]:
    try:
        limit = int(p.get("limit") or default_limit)
    except (TypeError, ValueError):
        limit = default_limit
    limit = max(1, limit)
    start = 0
    if p.get("cursor"):
        try:
            start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
        except ValueError:
            raise _ApiError("invalid_cursor") from None
    end = start + limit
    return items[start:end], (_cursor_for(end) if end < len(items) else None)


def _cursor_for(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()
