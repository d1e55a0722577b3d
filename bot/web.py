"""The HTTP face: Slack's single request URL plus health, readiness and metrics, and the
deadlines of the server in front of them (`EdgeProtocol`, `edge_options`)."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import h11
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.db.errors import is_transient_db
from bot.inbox_writer import Pending
from bot.logs import describe
from bot.metrics import ACK_SECONDS, BACKLOG, OPEN_CASES, OUTBOX_OLDEST
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack import guard
from bot.slack import install as install_paths
from bot.worker import Background

log = logging.getLogger(__name__)


def build_web(runtime: Runtime, background: Background | bool = True) -> ASGIApp:
    """`background`: what runs the work behind the acks; True for a thread in this process,
    False for none (tests drive it themselves)."""
    work = (
        background
        if isinstance(background, Background)
        else Background(runtime, "thread" if background else "off")
    )
    bolt = runtime.bolt_app()

    def dispatch(req: BoltRequest) -> tuple[BoltResponse, list[Pending]]:
        with runtime.deferring_commits() as pending:
            return bolt.dispatch(req), pending

    secret = runtime.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret else ""

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await _read_capped(request, guard.MAX_BODY)
        except ClientDisconnect:
            # Gone mid-body, or cut off by the read timeout: nothing to answer, one line.
            log.info("a client went away before its request was read")
            return Response(status_code=400)
        if body is None:
            log.warning("refused a request: body over %s bytes", guard.MAX_BODY)
            return PlainTextResponse("request too large", status_code=413)
        problem = guard.signature_problem(
            signing_secret,
            request.headers.get(guard.TIMESTAMP_HEADER),
            request.headers.get(guard.SIGNATURE_HEADER),
            body,
            time.time(),
        )
        if problem is not None:
            log.warning("refused an unverified request: %s", problem)
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            req = BoltRequest(
                body=body.decode("utf-8"),
                query=request.query_params,  # type: ignore[arg-type]
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # not UTF-8, not JSON, too deep, not an object, ...
            log.warning("refused a signed request whose body cannot be read: %s", describe(exc))
            return PlainTextResponse("malformed body", status_code=400)
        # Bolt's dispatch is blocking (the listener): off the event loop. The listener's
        # inbox rows are committed by the inbox writer; the ack waits for that here, on the
        # loop, rather than in a pool thread.
        bolt_resp, pending = await run_in_threadpool(dispatch, req)
        if pending and bolt_resp.status < 300:
            try:
                await runtime.writer.wait_async(pending)
            except Exception as exc:
                # Not stored, so not acked: Slack sends it again. A fault that is not the
                # database being away keeps its traceback, once per request.
                log.error(
                    "not acking: the inbox could not store the request (%s)",
                    describe(exc),
                    exc_info=None if is_transient_db(exc) else exc,
                )
                return PlainTextResponse("not stored; please retry", status_code=503)
        ACK_SECONDS.observe(time.perf_counter() - started)
        return to_starlette_response(bolt_resp)

    flow = runtime.oauth

    async def install(request: Request) -> Response:
        """Slack's OAuth install flow (multi-workspace mode): the install page, and the
        redirect back from Slack that stores the workspace's installation."""
        if flow is None:
            return PlainTextResponse("not found", status_code=404)
        req = BoltRequest(
            body="",
            query=str(request.url.query),
            headers=dict(request.headers),  # type: ignore[arg-type]
            # The install page's rate limit is per client address.
            context={install_paths.CLIENT_ADDRESS: request.client.host if request.client else ""},
        )
        if request.url.path == install_paths.INSTALL_PATH:
            resp = await run_in_threadpool(flow.handle_installation, req)
        else:
            resp = await run_in_threadpool(flow.handle_callback, req)
        return to_starlette_response(resp)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        ok, reason = await run_in_threadpool(runtime.ready)
        return JSONResponse({"ready": ok, "reason": reason}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        try:
            backlog = await run_in_threadpool(runtime.backlog)
            open_cases = await run_in_threadpool(runtime.open_cases)
            oldest = await run_in_threadpool(runtime.health.oldest_waiting)
        except Exception:
            # The database is down; /readyz says so, the counters still serve.
            backlog, open_cases, oldest = {}, {}, {}
        for (table, status), count in backlog.items():
            BACKLOG.labels(table, status).set(count)
        for priority, seconds in oldest.items():
            OUTBOX_OLDEST.labels(priority).set(seconds)
        OPEN_CASES.clear()
        for (policy, severity), count in open_cases.items():
            OPEN_CASES.labels(policy, severity).set(count)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        work.start()
        try:
            yield
        finally:
            work.stop()

    app = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route(install_paths.INSTALL_PATH, install, methods=["GET"]),
            Route(install_paths.REDIRECT_PATH, install, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )

    async def gated(scope: Scope, receive: Receive, send: Send) -> None:
        # From the last byte of its body to the last byte of the answer, a Slack request
        # holds the gate, so background passes step aside for all of its work; a client
        # sending slowly holds nothing up.
        if work.mode == "off" or scope["type"] != "http" or scope["path"] != "/slack/events":
            await app(scope, receive, send)
            return
        with ExitStack() as held:
            holding = False

            async def receive_all() -> Message:
                nonlocal holding
                message = await receive()
                last = message["type"] == "http.request" and not message.get("more_body")
                if last and not holding:
                    held.enter_context(runtime.gate.request())
                    holding = True
                return message

            await app(scope, receive_all, send)

    return gated


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is known to exceed `limit`: from Content-Length before
    reading anything, or while reading a body sent without one."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class EdgeProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the deadlines it lacks. A connection waiting for a
    request, the first as much as the next, is closed after the idle timeout (uvicorn's
    keep-alive timeout, which it otherwise arms only after an answer); once a request's
    first byte arrives, its headers and body must all arrive within `read_timeout`, or the
    connection is closed: a request still waiting for its headers gets a 408 first, and the
    app reading a body sees the client gone."""

    read_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._reading: asyncio.TimerHandle | None = None
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        if self._reading is None and self.conn.their_state is not h11.DONE:
            self._reading = self.loop.call_later(self.read_timeout, self._read_timed_out)
        super().data_received(data)
        if self.conn.their_state is h11.DONE and self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None
        super().connection_lost(exc)

    def _read_timed_out(self) -> None:
        self._reading = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            # Part of a request's headers, nothing the app has seen: the 408 is the answer.
            self.transport.write(_TIMED_OUT)
        self.transport.close()


_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\nconnection: close\r\n\r\nrequest timeout"
)


def edge_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings for `serve`: the read and idle timeouts and the connection limit."""
    timeout = settings.http_read_timeout_seconds
    protocol = type("EdgeProtocol", (EdgeProtocol,), {"read_timeout": timeout})
    limit = settings.http_max_connections
    # The limit means something only if the process can open that many sockets.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limit + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    return {
        "http": protocol,
        "timeout_keep_alive": settings.http_idle_timeout_seconds,
        "limit_concurrency": limit,
    }
