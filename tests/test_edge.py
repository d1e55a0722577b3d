"""The edge holds: `serve`'s HTTP server closes a connection that waits idle, a request that
does not arrive in full within the read timeout (a 408 while its headers are incomplete),
answers 503 beyond its connection limit, and a client that goes away mid-body costs one
short line, never a traceback. In process under the protocol and options `serve` gives
uvicorn, then (marked slow) against a real `serve` process under 1,000 sockets."""

from __future__ import annotations

import selectors
import socket
import statistics
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from bot.clock import FakeClock
from bot.runtime import Runtime
from bot.web import build_web, edge_options
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.db import start_migrated
from tests.support.fake_slack import FakeSlack
from tests.support.log_lines import Lines, logged_lines
from tests.support.serve_process import env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess, settings_for
from tests.support.signing import SlackDriver

# Every test here times the server against the wall clock: they run one at a time, with the
# tests that start processes, where no other test competes for the machine.
pytestmark = pytest.mark.slow

READ, IDLE = 0.6, 0.4
# How late a close may come on a busy machine, and how early (the event loop's timers).
LATE, EARLY = 1.0, 0.05
GONE = "a client went away before its request was read"


@pytest.fixture
def lines() -> Iterator[Lines]:
    with logged_lines() as handler:
        yield handler


@dataclass
class Edge:
    port: int
    driver: SlackDriver

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@contextmanager
def edge(db_url: str, slack: FakeSlack, **settings: Any) -> Iterator[Edge]:
    """The bot's web app under uvicorn with `serve`'s edge options from `settings`."""
    start_migrated(db_url)
    values = {
        "http_read_timeout_seconds": READ,
        "http_idle_timeout_seconds": IDLE,
        **settings,
    }
    runtime = Runtime(
        settings_for(db_url, slack.base_url, slack.token, **values),
        clock=FakeClock(),
        paced=False,
    )
    runtime.migrate()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        build_web(runtime, background=False),
        log_config=None,
        access_log=False,
        lifespan="on",
        **edge_options(runtime.settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        port = sock.getsockname()[1]
        yield Edge(port, SlackDriver(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack=slack))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.stop()


@pytest.fixture
def door(sqlite_url: str, slack: FakeSlack) -> Iterator[Edge]:
    with edge(sqlite_url, slack) as it:
        yield it


def closed_after(conn: socket.socket, since: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed
    (seconds after `since`)."""
    received = b""
    while True:
        try:
            chunk = conn.recv(4096)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - since
        received += chunk


def trickle(conn: socket.socket, data: bytes, every: float = 0.1) -> threading.Thread:
    """Send `data` a byte every `every` seconds, until it is sent or the server hangs up."""

    def run() -> None:
        for byte in data:
            try:
                conn.send(bytes([byte]))
            except OSError:
                return
            time.sleep(every)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


HEADERS = (
    b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
    b"Content-Length: 400\r\n\r\n"
)


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(door: Edge) -> None:
    conn = door.connect()
    received, after = closed_after(conn, time.monotonic())
    assert received == b""
    assert IDLE - EARLY <= after < IDLE + LATE


def test_headers_sent_a_byte_at_a_time_get_a_408_at_the_read_timeout(door: Edge) -> None:
    conn = door.connect()
    started = time.monotonic()
    trickle(conn, HEADERS)
    received, after = closed_after(conn, started)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert received.endswith(b"\r\n\r\nrequest timeout")
    assert READ - EARLY <= after < READ + LATE


def test_a_body_sent_a_byte_at_a_time_is_cut_off_with_one_short_line(
    door: Edge, lines: Lines
) -> None:
    conn = door.connect()
    started = time.monotonic()
    conn.sendall(HEADERS)
    trickle(conn, b"{" * 400)
    received, after = closed_after(conn, started)
    assert received == b""  # the app was reading the body: there is nobody to answer
    assert READ - EARLY <= after < READ + LATE
    assert wait_for(lambda: lines.lines == [GONE])


def test_a_client_gone_mid_body_costs_one_short_line_and_no_traceback(
    door: Edge, lines: Lines
) -> None:
    for _ in range(20):
        conn = door.connect()
        conn.sendall(HEADERS + b'{"type": "event_callback", ')
        conn.close()
    assert wait_for(lambda: len(lines.lines) >= 20)
    time.sleep(0.2)  # nothing more follows
    assert lines.lines == [GONE] * 20
    # The door still answers.
    assert door.driver.event(payloads.url_verification("still-here")).status == 200


def test_a_whole_request_is_answered_and_the_connection_then_idles_out(door: Edge) -> None:
    conn = door.connect()
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
    started = time.monotonic()
    received, after = closed_after(conn, started)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b"\r\n\r\nok")
    assert IDLE - EARLY <= after < IDLE + LATE


def test_beyond_the_connection_limit_a_request_is_answered_503(
    sqlite_url: str, slack: FakeSlack
) -> None:
    with edge(sqlite_url, slack, http_idle_timeout_seconds=30, http_max_connections=4) as door:
        held = [door.connect() for _ in range(4)]
        time.sleep(0.2)  # the server has them all
        conn = door.connect()
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        received, _ = closed_after(conn, time.monotonic())
        assert received.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        for one in held:
            one.close()
        time.sleep(0.2)
        assert door.driver.event(payloads.url_verification("room-again")).status == 200


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# -- a real `serve` under 1,000 slow connections, then 1,000 aborted bodies ----------------

SERVE_READ = 2.0
SLOW = 1000


class SlowClients:
    """`count` connections in one thread: half send their headers a byte at a time, half
    their headers at once and then their body a byte at a time, each a byte every quarter
    second until the server hangs up; when each sent its first byte and when the server
    closed it."""

    def __init__(self, port: int, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.pending: dict[socket.socket, bytes] = {}
        self.first: dict[socket.socket, float] = {}
        self.closed: dict[socket.socket, float] = {}
        for i in range(count):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.setblocking(False)
            if i % 2:
                conn.sendall(HEADERS)
                self.first[conn] = time.monotonic()
                self.pending[conn] = b"{" * 400
            else:
                self.pending[conn] = HEADERS
            self.selector.register(conn, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        next_byte = time.monotonic()
        while self.pending:
            for key, _ in self.selector.select(timeout=0.02):
                self._read(key.fileobj)  # type: ignore[arg-type]
            if time.monotonic() >= next_byte:
                next_byte += 0.25
                for conn, rest in list(self.pending.items()):
                    try:
                        conn.send(rest[:1])
                        self.first.setdefault(conn, time.monotonic())
                        self.pending[conn] = rest[1:] or b" "
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._hung_up(conn)

    def _read(self, conn: socket.socket) -> None:
        try:
            if conn.recv(4096):
                return  # a 408's bytes; the close follows
        except BlockingIOError:
            return
        except OSError:
            pass
        self._hung_up(conn)

    def _hung_up(self, conn: socket.socket) -> None:
        if conn in self.pending:
            self.closed[conn] = time.monotonic()
            del self.pending[conn]
            self.selector.unregister(conn)
            conn.close()


def signed_request_seconds(driver: SlackDriver, slack: FakeSlack) -> float:
    """How long a signed event takes to be stored and acked."""
    event = payloads.reaction_added(
        team=slack.team_id,
        channel=SUPPORT,
        ts="1700000000.000100",
        user=ENGINEER,
        reaction="thumbsup",
        item_user=CUSTOMER,
    )
    started = time.monotonic()
    assert driver.event(event).status == 200
    return time.monotonic() - started


def settled(proc: ServeProcess) -> str:
    """The process's output once its count of lines has held still for half a second."""
    out = proc.output()
    while True:
        time.sleep(0.5)
        now = proc.output()
        if now.count("\n") == out.count("\n"):
            return now
        out = now


def abort_bodies(port: int, count: int) -> None:
    """`count` requests that stop mid-body: half close, half reset the connection."""
    for i in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn.sendall(HEADERS + b'{"type": "event_callback", ')
        if i % 2:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def test_serve_holds_under_a_thousand_slow_connections_and_aborted_bodies(
    sqlite_url: str, slack: FakeSlack
) -> None:
    env = env_for(
        sqlite_url,
        slack,
        HTTP_READ_TIMEOUT_SECONDS=str(SERVE_READ),
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    proc = ServeProcess(env).start()
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        normal = [signed_request_seconds(driver, slack) for _ in range(20)]

        slow = SlowClients(proc.port, SLOW)
        loaded = [signed_request_seconds(driver, slack) for _ in range(20)]
        slow.thread.join(timeout=SERVE_READ + 10)
        assert not slow.pending, f"{len(slow.pending)} slow connections still open"
        # Each closed by the server at the read timeout, counted from its first byte.
        held = [slow.closed[conn] - slow.first[conn] for conn in slow.first]
        assert len(held) == SLOW
        assert min(held) >= SERVE_READ - 0.1
        assert max(held) < SERVE_READ + 1.0
        # A signed request meanwhile took as long as it normally does.
        assert statistics.median(loaded) <= 2 * statistics.median(normal) + 0.05, (normal, loaded)
        assert max(loaded) < max(normal) + 0.5, (normal, loaded)

        # The slow bodies were cut off while the app read them: one line each.
        assert wait_until(lambda: proc.output().count(GONE) >= SLOW // 2, timeout=5)
        before = proc.output().count(GONE)
        assert before == SLOW // 2
        abort_bodies(proc.port, SLOW)
        assert signed_request_seconds(driver, slack) < 1.0
        out = settled(proc)
        gone = [line for line in out.splitlines() if GONE in line]
        assert len(gone) - before <= SLOW
        assert all(len(line) < 200 for line in gone)
        assert "Traceback" not in out and "ClientDisconnect" not in out
    finally:
        proc.stop()
