"""The Slack stand-in as the tests use it: the demo's FakeSlack (bot/demo/stand_in) plus
fault injection, OAuth installs in several workspaces, file uploads, the Web API methods the
bot never calls, and helpers to seed and inspect its state."""

from __future__ import annotations

import base64
import copy
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Self

from bot.demo.stand_in import fake_slack as core
from bot.demo.stand_in.fake_slack import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_NAME,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_TEAM_NAME,
    DEFAULT_TOKEN,
    ApiError,
    Call,
    Channel,
    Message,
    Recorder,
    User,
    WebApiMethod,
    ts_key,
)
from tests.support.logscan import SEEN

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_NAME",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_TEAM_NAME",
    "DEFAULT_TOKEN",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "Call",
    "Channel",
    "FakeSlack",
    "Message",
    "UploadedFile",
    "User",
]

# The Web API methods whose `text` is a message's.
_TEXT_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})

# The app's OAuth credentials `oauth.v2.access` accepts.
OAUTH_CLIENT_ID = "1111111111.2222222222"
OAUTH_CLIENT_SECRET = "fake-oauth-client-secret"


@dataclass
class UploadedFile:
    """A file uploaded the way `files_upload_v2` does: an upload URL, its bytes, then a
    completion that shares it (or keeps it private when no channel is given)."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    kind: str  # "status", "error", "drop" or "delay"
    remaining: int
    status: int = 200
    error: str | None = None
    retry_after: int = 1
    seconds: float = 0.0

    def describe(self) -> str:
        if self.kind == "status":
            return f"http {self.status}"
        if self.kind == "error":
            return f"error {self.error}"
        if self.kind == "delay":
            return f"delay {self.seconds}s"
        return "drop"


class FakeSlack(core.FakeSlack):
    """The demo's stand-in, with fault injection, OAuth installs and file uploads."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # code: (the installation's team or None, its enterprise or None, its name, token,
        # installer)
        self._oauth_codes: dict[str, tuple[str | None, str | None, str, str, str]] = {}
        # Enterprise Grid: the workspaces each organisation added its org-wide app to.
        self._org_teams: dict[str, dict[str, str]] = {}
        self._stopping = threading.Event()
        self._files: dict[str, UploadedFile] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._random_faults: dict[str, tuple[random.Random, dict[int, float], int]] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        if self._server is None:
            self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        # Wake handlers sleeping in an injected delay so shutdown does not wait for them.
        if self._server is not None:
            self._stopping.set()
        super().stop()

    # ------------------------------------------------------------------ seeding

    def grant_install(
        self, team_id: str, team_name: str, installer: str, enterprise_id: str | None = None
    ) -> tuple[str, str]:
        """Someone in workspace `team_id` (of Enterprise Grid organisation `enterprise_id`)
        approves the app: returns the code Slack would hand to the redirect URL and the bot
        token `oauth.v2.access` will give for it."""
        with self._lock:
            code = f"code-{team_id}-{next(self._ids)}"
            token = f"xoxb-{team_id.lower()}-{next(self._ids)}"
            self._oauth_codes[code] = (team_id, enterprise_id, team_name, token, installer)
        SEEN.value(code)
        return code, token

    def grant_org_install(self, enterprise_id: str, name: str, installer: str) -> tuple[str, str]:
        """An Org Admin approves the app for the whole Enterprise Grid organisation
        `enterprise_id` (an org-wide install): the code and the organisation's bot token."""
        with self._lock:
            code = f"code-{enterprise_id}-{next(self._ids)}"
            token = f"xoxb-{enterprise_id.lower()}-{next(self._ids)}"
            self._oauth_codes[code] = (None, enterprise_id, name, token, installer)
        SEEN.value(code)
        return code, token

    def add_org_workspace(self, enterprise_id: str, team_id: str, team_name: str) -> None:
        """The Org Admin adds the org-wide app to one of the organisation's workspaces."""
        with self._lock:
            self._org_teams.setdefault(enterprise_id, {})[team_id] = team_name

    def revoke(self, team_id: str) -> None:
        """The workspace uninstalled the app: its tokens stop working."""
        with self._lock:
            for token, (team, _, _) in list(self._workspaces.items()):
                if team == team_id:
                    del self._workspaces[token]

    def post_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None, **kw: Any
    ) -> str:
        SEEN.text(text)
        return super().post_user_message(channel, user, text, thread_ts, **kw)

    def response_url(self, name: str) -> str:
        url = super().response_url(name)
        SEEN.value(url)
        return url

    def add_member(self, channel: str, user: str) -> None:
        with self._lock:
            ch = self._require_channel(channel)
            if user not in ch.members:
                ch.members.append(user)

    def set_bot_member(self, channel: str, member: bool) -> None:
        with self._lock:
            self._require_channel(channel).bot_member = member

    def add_usergroup(self, id: str, users: Iterable[str]) -> None:
        with self._lock:
            self._usergroups[id] = list(users)

    def react(self, channel: str, ts: str, user: str, name: str) -> None:
        """Add a reaction as a person would (no event is sent; use the driver for that)."""
        with self._lock:
            msg = self._require_message(channel, ts)
            self._add_reaction(msg, user, name)

    # ------------------------------------------------------------------ state queries

    def message(self, channel: str, ts: str) -> Message | None:
        """The current state of a message (edits and reactions applied)."""
        with self._lock:
            msg = self._messages.get(channel, {}).get(ts)
            return copy.deepcopy(msg)

    def messages(self, channel: str) -> list[Message]:
        """Every stored message in the channel, replies included, oldest first."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            return [copy.deepcopy(m) for m in sorted(stored, key=lambda m: ts_key(m.ts))]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages(channel) if thread_ts in (m.ts, m.thread_ts)]

    def ephemeral_messages(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel)
                and (user is None or e["user"] == user)
            ]

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._home_views.get(user))

    def uploaded_files(self, channel: str | None = None) -> list[UploadedFile]:
        """Files whose upload was completed, oldest first, with their bytes."""
        with self._lock:
            return [
                copy.deepcopy(f)
                for f in self._files.values()
                if f.completed and (channel is None or f.channel == channel)
            ]

    # ------------------------------------------------------------------ call log

    def wait_for(
        self,
        what: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until `count` calls match (a method name or a predicate); return them."""
        match = (lambda c: c.method == what) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls if match(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = ", ".join(f"{c.method}:{c.status}" for c in self._calls) or "none"
                    raise TimeoutError(
                        f"waited {timeout}s for {count} call(s) matching {what!r}, "
                        f"got {len(found)}; calls seen: {seen}"
                    )
                self._changed.wait(left)

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        """Queue a failure for the next `times` calls of `method` (after earlier queued faults).

        `status=429` answers ratelimited with Retry-After; another status answers that HTTP
        code; `error=` alone answers HTTP 200 with ok=false; `drop=True` closes the connection
        without a response. Use method "response_url" for response URL posts.
        """
        if drop:
            fault = _Fault("drop", times)
        elif status is not None and status != 200:
            fault = _Fault("status", times, status=status, error=error, retry_after=retry_after)
        elif error is not None:
            fault = _Fault("error", times, error=error)
        else:
            raise ValueError("fail() needs status=, error= or drop=True")
        self._queue(method, fault)

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds`, then answer normally."""
        self._queue(method, _Fault("delay", times, seconds=seconds))

    def pending_faults(self, method: str | None = None) -> int:
        with self._lock:
            queues = self._faults.values() if method is None else [self._faults.get(method, ())]
            return sum(f.remaining for q in queues for f in q)

    def reset(self) -> None:
        """Forget calls and queued faults; seeded and posted state stays."""
        with self._lock:
            self._calls.clear()
            self._posted.clear()
            self._faults.clear()

    def _queue(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.setdefault(method, deque()).append(fault)

    def fail_randomly(
        self, method: str, rates: dict[int, float], *, seed: int = 0, retry_after: int = 1
    ) -> None:
        """Answer each later call of `method` with HTTP status `s` with probability
        `rates[s]` (e.g. `{429: 0.3, 500: 0.1}`), drawn from a generator seeded with `seed`,
        after any queued faults. `stop_failing_randomly` ends it."""
        if sum(rates.values()) > 1:
            raise ValueError("the rates add up to more than 1")
        with self._lock:
            self._random_faults[method] = (random.Random(seed), dict(rates), retry_after)

    def stop_failing_randomly(self, method: str) -> None:
        with self._lock:
            self._random_faults.pop(method, None)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return self._random_fault(method)
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
            return fault

    def _random_fault(self, method: str) -> _Fault | None:
        drawn = self._random_faults.get(method)
        if drawn is None:
            return None
        rng, rates, retry_after = drawn
        roll, edge = rng.random(), 0.0
        for status, rate in sorted(rates.items()):
            edge += rate
            if roll < edge:
                return _Fault("status", 1, status=status, retry_after=retry_after)
        return None

    # ------------------------------------------------------------------ HTTP plumbing

    def _serve_other(
        self, req: BaseHTTPRequestHandler, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        if path.startswith("/upload/"):
            self._serve_upload(req, path, body, headers)
        else:
            super()._serve_other(req, path, body, headers)

    def _serve_upload(
        self, req: BaseHTTPRequestHandler, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        """The upload URL `files.getUploadURLExternal` hands out: the raw bytes are POSTed
        with no token, and Slack answers 200 with a line of text. Faults: method "upload"."""
        file_id = path.rsplit("/", 1)[-1]
        params = {"file_id": file_id, "length": len(body)}
        record = Recorder(self, "upload", path, params, headers, False, False)
        if self._apply_fault(req, "upload", record):
            return
        with self._lock:
            found = self._files.get(file_id)
            if found is not None and not found.completed:
                found.data = bytes(body)
        if found is None or found.completed:
            record(404, {"ok": False, "error": "not_found"})
            self._send(req, 404, {"ok": False, "error": "not_found"})
            return
        record(200, {"ok": True})
        text = f"OK - {len(body)}".encode()
        try:
            req.send_response(200)
            req.send_header("Content-Type", "text/plain; charset=utf-8")
            req.send_header("Content-Length", str(len(text)))
            req.end_headers()
            req.wfile.write(text)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _apply_fault(self, req: BaseHTTPRequestHandler, method: str, record: Recorder) -> bool:
        """Act on the next queued fault; True when it has already answered the request."""
        fault = self._take_fault(method)
        if fault is None:
            return False
        if fault.kind == "delay":
            self._stopping.wait(fault.seconds)
            record.fault = fault.describe()
            return False
        record.fault = fault.describe()
        if fault.kind == "drop":
            record(None, None)
            req.close_connection = True
            return True
        if fault.kind == "error":
            result: dict[str, Any] = {"ok": False, "error": fault.error}
            record(200, result)
            self._send(req, 200, result)
            return True
        if fault.status == 429:
            result = {"ok": False, "error": fault.error or "ratelimited"}
            record(429, result)
            self._send(req, 429, result, {"Retry-After": str(fault.retry_after)})
            return True
        result = {"ok": False, "error": fault.error or "fatal_error"}
        record(fault.status, result)
        self._send(req, fault.status, result)
        return True

    def _authenticate(
        self, method: str, token: str | None
    ) -> tuple[bool, bool, tuple[str, str, str] | None]:
        found = super()._authenticate(method, token)
        if method == "oauth.v2.access":
            # Authenticated by the app's client id and secret, not a token.
            return True, True, found[2]
        return found

    def _decode(
        self, req: BaseHTTPRequestHandler, query: str, body: bytes
    ) -> tuple[dict[str, Any], str | None]:
        params, token = super()._decode(req, query, body)
        auth = req.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            # oauth.v2.access: the app's client id and secret, as HTTP basic auth.
            pair = base64.b64decode(auth[len("Basic ") :].strip()).decode("utf-8", "replace")
            params["client_id"], _, params["client_secret"] = pair.partition(":")
        return params, token

    def _record(self, **fields: Any) -> None:
        # What the bot posts is message text too: the log scan looks for it.
        params = fields["params"]
        if fields["method"] in _TEXT_METHODS:
            SEEN.text(params.get("text"))
        elif fields["method"] == "response_url" and isinstance(params.get("body"), dict):
            SEEN.text(params["body"].get("text"))
        super()._record(**fields)

    # ------------------------------------------------------------------ model helpers

    def _require_message(self, channel: str, ts: str) -> Message:
        msg = self._messages.get(channel, {}).get(ts)
        if msg is None:
            raise KeyError(f"no message {ts} in {channel}")
        return msg

    def _add_reaction(self, msg: Message, user: str, name: str) -> None:
        for reaction in msg.reactions:
            if reaction["name"] == name:
                if user in reaction["users"]:
                    raise ApiError("already_reacted")
                reaction["users"].append(user)
                reaction["count"] += 1
                return
        msg.reactions.append({"name": name, "users": [user], "count": 1})

    # ------------------------------------------------------------------ Web API methods

    def _oauth_v2_access(self, p: dict[str, Any]) -> dict[str, Any]:
        # Slack's shapes (docs: oauth.v2.access, and the org-wide apps reference): a
        # workspace install names its team, and its enterprise in a Grid organisation; an
        # org-wide install has no team.
        if p.get("client_id") != OAUTH_CLIENT_ID or p.get("client_secret") != OAUTH_CLIENT_SECRET:
            raise ApiError("invalid_client_id")
        grant = self._oauth_codes.pop(str(p.get("code") or ""), None)
        if grant is None:
            raise ApiError("invalid_code")
        team_id, enterprise_id, name, token, installer = grant
        owner = str(team_id or enterprise_id)
        bot_user = f"U0BOT{owner[-5:]}"
        self._workspaces[token] = (owner, name, bot_user)
        return {
            "access_token": token,
            "token_type": "bot",
            "scope": ",".join(self.scopes),
            "bot_user_id": bot_user,
            "app_id": self.app_id,
            "team": {"id": team_id, "name": name} if team_id else None,
            "enterprise": {"id": enterprise_id, "name": name} if enterprise_id else None,
            "authed_user": {"id": installer},
            "is_enterprise_install": team_id is None,
        }

    def _apps_uninstall(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("client_id") != OAUTH_CLIENT_ID or p.get("client_secret") != OAUTH_CLIENT_SECRET:
            raise ApiError("invalid_client_id")
        assert self._caller is not None
        for token, caller in list(self._workspaces.items()):
            if caller == self._caller:
                del self._workspaces[token]
        return {}

    def _auth_teams_list(self, p: dict[str, Any]) -> dict[str, Any]:
        assert self._caller is not None
        teams = self._org_teams.get(self._caller[0], {})
        return {
            "teams": [{"id": team, "name": name} for team, name in sorted(teams.items())],
            "response_metadata": {"next_cursor": ""},
        }

    def _visible_to_caller(self, ch: Channel) -> bool:
        # An org-wide token sees the conversations of the workspaces it was added to.
        org = self._org_teams.get(self._caller[0]) if self._caller else None
        if org is not None and (ch.team_id or self.team_id) in org:
            return True
        return super()._visible_to_caller(ch)

    def _conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel_for(p.get("channel"))
        if ch.is_private or ch.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        if ch.bot_member:
            return {
                "channel": self._channel_api(ch),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        ch.bot_member = True
        return {"channel": self._channel_api(ch)}

    def _reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name") or "").strip(":")
        if not p.get("timestamp"):
            raise ApiError("no_item_specified")
        if not name:
            raise ApiError("invalid_name")
        ch = self._channel_for(p.get("channel"))
        msg = self._messages.get(ch.id, {}).get(str(p["timestamp"]))
        if msg is None:
            raise ApiError("message_not_found")
        self._add_reaction(msg, self.bot_user_id, name)
        return {}

    def _files_get_upload_url_external(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = str(p.get("filename") or "")
        try:
            length = int(p.get("length") or 0)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if not filename:
            raise ApiError("invalid_arguments")
        if length <= 0:
            raise ApiError("missing_argument")
        file_id = self._new_id("F")
        self._files[file_id] = UploadedFile(file_id, filename, length, p.get("alt_txt"))
        url = f"http://127.0.0.1:{self.port}/upload/v1/{file_id}"
        return {"upload_url": url, "file_id": file_id}

    def _files_complete_upload_external(self, p: dict[str, Any]) -> dict[str, Any]:
        listed = p.get("files")
        if isinstance(listed, str):
            try:
                listed = json.loads(listed)
            except ValueError:
                raise ApiError("invalid_arguments") from None
        if not isinstance(listed, list) or not listed:
            raise ApiError("invalid_arguments")
        channels = [c for c in str(p.get("channels") or "").split(",") if c]
        if p.get("channel_id"):
            channels.insert(0, str(p["channel_id"]))
        if len(channels) > 1:
            raise ApiError("invalid_arguments")  # one channel is all this stand-in shares to
        channel = self._postable_channel(channels[0]).id if channels else None
        uploads = []
        for item in listed:
            found = self._files.get(str(item.get("id") if isinstance(item, dict) else ""))
            if found is None or found.data is None or found.completed:
                raise ApiError("file_not_found")
            uploads.append((found, item.get("title") or found.filename))
        for found, title in uploads:
            found.title, found.channel, found.completed = title, channel, True
            found.initial_comment = p.get("initial_comment")
            found.thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        return {"files": [{"id": found.id, "title": title} for found, title in uploads]}

    METHODS: ClassVar[dict[str, WebApiMethod]] = {
        **core.FakeSlack.METHODS,
        "oauth.v2.access": _oauth_v2_access,
        "apps.uninstall": _apps_uninstall,
        "auth.teams.list": _auth_teams_list,
        "conversations.join": _conversations_join,
        "reactions.add": _reactions_add,
        "files.getUploadURLExternal": _files_get_upload_url_external,
        "files.completeUploadExternal": _files_complete_upload_external,
    }
    CREDENTIAL_PARAMS: ClassVar[frozenset[str]] = frozenset({"client_secret"})
