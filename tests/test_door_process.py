"""The door, tried against `escalation-bot serve` as an operator runs it: oversized bodies
are refused without being read or logged, and the process neither grows nor restarts."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.hostile_requests import CASES
from tests.support.logscan import BODY_MARKER
from tests.support.serve_process import env_for, replies, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver, sign

pytestmark = pytest.mark.slow

TEN_MB = 10 * 1024 * 1024


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_big(port: int, headers: dict[str, str], chunked: bool = False) -> int:
    """POST a 10 MB body of the marker, stopping early if the server answers first."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/slack/events")
    for name, value in headers.items():
        conn.putheader(name, value)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(TEN_MB))
    conn.endheaders()
    piece = (BODY_MARKER * (65536 // len(BODY_MARKER) + 1))[:65536].encode()
    try:
        for _ in range(TEN_MB // len(piece)):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed without reading the rest
    try:
        return conn.getresponse().status
    finally:
        conn.close()


def test_ten_megabytes_are_refused_unread_and_the_process_stays_small(
    tmp_path: Path, slack: FakeSlack
) -> None:
    db = f"sqlite:///{tmp_path / 'door.db'}"
    proc = ServeProcess(env_for(db, slack, LOG_LEVEL="INFO", LOG_FORMAT="text")).start()
    assert proc.proc is not None
    pid = proc.proc.pid
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        # Warm up the paths a big request takes, so what is measured is growth per request.
        assert driver.raw(b"{}", {"Content-Type": "application/json"}).status == 401
        before_log = len(proc.output().splitlines())
        before = rss_kib(pid)
        big_signed = sign(SIGNING_SECRET, b"x", int(time.time()))  # headers only; body differs
        statuses = [
            send_big(proc.port, {"Content-Type": "application/json", **big_signed}),
            send_big(proc.port, {"Content-Type": "application/json"}),
            send_big(proc.port, {"Content-Type": "application/json"}, chunked=True),
            send_big(proc.port, {"Content-Type": "application/json", **big_signed}, chunked=True),
        ]
        grown = rss_kib(pid) - before
        assert statuses == [413, 413, 413, 413]
        assert grown < 4 * 1024, f"resident memory grew {grown} KiB"
        new_lines = proc.output().splitlines()[before_log:]
        assert new_lines == ["WARNING bot.web: refused a request: body over 1000000 bytes"] * 4

        # The whole table of hostile inputs, against the process as an operator runs it.
        got = {
            case.name: driver.raw(
                case.body, {"Content-Type": case.content_type, **case.headers(case.body)}
            ).status
            for case in CASES
        }
        assert got == {case.name: case.status for case in CASES}

        # The process is the same one, and a good reaction still opens a case.
        ts = slack.post_user_message(SUPPORT, CUSTOMER, "still there?")
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert driver.event(event).status == 200
        assert wait_until(lambda: len(replies(slack, ts)) == 1)
        assert proc.proc.poll() is None and proc.proc.pid == pid
    finally:
        proc.stop()
    assert BODY_MARKER not in proc.output()


def test_a_body_just_under_the_cap_is_read_and_verified(tmp_path: Path, slack: FakeSlack) -> None:
    """The cap is Slack's size, not smaller: a signed 900 kB event is accepted."""
    db = f"sqlite:///{tmp_path / 'door.db'}"
    proc = ServeProcess(env_for(db, slack)).start()
    try:
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts="1.2", user=ENGINEER, reaction="smile"
        )
        event["padding"] = "p" * 900_000
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            **sign(SIGNING_SECRET, body, int(time.time())),
        }
        assert SlackDriver(proc.url, SIGNING_SECRET).raw(body, headers).status == 200
    finally:
        proc.stop()
