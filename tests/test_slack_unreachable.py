"""`escalation-bot serve` in single-workspace mode while Slack's Web API refuses connections,
then accepts them and never answers: every request is still stored and acked at once (no
Slack call on the request path), and once Slack answers every case opens with its card."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.db.models import Case
from bot.runtime import Runtime
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import counts, is_card_message, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess, free_port, settings_for
from tests.support.signing import SlackDriver

REACTIONS = 50


class Hanging:
    """A server that accepts connections and never answers, like an API stuck behind a
    load balancer."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Hanging:
        self.thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self) -> None:
        # shutdown() wakes the accept() blocked in the other thread; close() alone does not.
        for sock in (self.sock, *self.held):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.thread.join(timeout=5)


@pytest.mark.slow
def test_acks_never_wait_on_slack_and_every_case_opens_once_it_answers(tmp_path: Path) -> None:
    port = free_port()
    slack = FakeSlack(port=port)  # not started yet: connections to it are refused
    slack.add_user(CUSTOMER, "ana", "Ana")
    slack.add_user(ENGINEER, "sam", "Sam")
    slack.add_channel(SUPPORT, "support", bot_member=True)
    stamps = [slack.post_user_message(SUPPORT, CUSTOMER, f"outage {i}") for i in range(REACTIONS)]
    db = f"sqlite:///{tmp_path / 'down.db'}"
    env = {
        "DATABASE_URL": db,
        "SLACK_API_URL": f"http://127.0.0.1:{port}/api/",
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "POLICIES_PATH": str(Path(__file__).parent.parent / "policies"),
        "TICK_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    proc = ServeProcess(env).start()
    hanging: Hanging | None = None
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        slowest = 0.0
        for i, ts in enumerate(stamps):
            if i == REACTIONS // 2:
                hanging = Hanging(port).start()  # now Slack accepts and never answers
            event = payloads.reaction_added(
                team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            started = time.monotonic()
            assert driver.event(event).status == 200
            slowest = max(slowest, time.monotonic() - started)
        # Waiting on Slack would take its 10 s timeout; a stored ack takes milliseconds.
        assert slowest < 1.0, f"an ack took {slowest:.2f} s"
        assert counts(db) == (0, REACTIONS)

        assert hanging is not None
        hanging.stop()
        slack.start()
        assert wait_until(lambda: counts(db)[0] == REACTIONS, timeout=120), proc.output()[-2000:]

        def cards() -> dict[str, int]:
            found: dict[str, int] = {}
            for m in slack.posted_messages(SUPPORT):
                if m.thread_ts in stamps and is_card_message(m):
                    found[m.thread_ts] = found.get(m.thread_ts, 0) + 1
            return found

        assert wait_until(lambda: len(cards()) == REACTIONS, timeout=120), proc.output()[-2000:]
        assert set(cards().values()) == {1}
    finally:
        proc.stop()
        if hanging is not None:
            hanging.stop()
        slack.stop()


class RecordingSocket:
    """Stands in for the Socket Mode websocket: records the acks sent back."""

    logger = logging.getLogger("test.socket")

    def __init__(self) -> None:
        self.acks: list[Any] = []

    def send_socket_mode_response(self, response: Any) -> None:
        self.acks.append(response)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_in_socket_mode_acks_never_wait_on_slack_either(db_url: str) -> None:
    port = free_port()
    clock = FakeClock()
    # Not started: connections to the Web API are refused. It runs on the bot's clock, so
    # its rate limits refill as the test moves that clock.
    slack = FakeSlack(port=port, clock=clock)
    slack.add_user(CUSTOMER, "ana", "Ana")
    slack.add_user(ENGINEER, "sam", "Sam")
    slack.add_channel(SUPPORT, "support", bot_member=True)
    stamps = [slack.post_user_message(SUPPORT, CUSTOMER, f"socket {i}") for i in range(REACTIONS)]
    runtime = Runtime(
        settings_for(db_url, f"http://127.0.0.1:{port}/api/", slack.token),
        clock=clock,
        paced=False,
    )
    runtime.migrate()
    hanging: Hanging | None = None
    try:
        handler = SocketModeHandler(
            runtime.bolt_app(), app_token="xapp-1-A0-1-test", web_client=runtime.client
        )
        socket_ = RecordingSocket()
        slowest = 0.0
        for i, ts in enumerate(stamps):
            if i == REACTIONS // 2:
                hanging = Hanging(port).start()
            event = payloads.reaction_added(
                team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            envelope = payloads.socket_mode_envelope(event)
            started = time.monotonic()
            handler.handle(socket_, SocketModeRequest.from_dict(envelope))  # type: ignore[arg-type]
            slowest = max(slowest, time.monotonic() - started)
        assert len(socket_.acks) == REACTIONS
        assert slowest < 1.0, f"an ack took {slowest:.2f} s"

        assert hanging is not None
        hanging.stop()
        slack.start()
        for _ in range(40):  # the inbox's backoff runs on the bot's clock
            runtime.settle()
            clock.advance(timedelta(seconds=30))
        cases = {c.message_ts for c in _cases(runtime)}
        assert cases == set(stamps)
        cards = [
            m.thread_ts
            for m in slack.posted_messages(SUPPORT)
            if m.thread_ts in cases and is_card_message(m)
        ]
        assert sorted(cards) == sorted(stamps)
    finally:
        runtime.stop()
        if hanging is not None:
            hanging.stop()
        slack.stop()


def _cases(runtime: Runtime) -> list[Case]:
    with runtime.sessions() as session:
        return list(session.execute(select(Case)).scalars())
