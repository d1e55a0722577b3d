"""Background work beside the serving process: in a thread, in a worker child process that
`serve` supervises, or in a separate `escalation-bot worker`. (The gate a worker watches is
tested in test_gate.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from bot.worker import WorkerProcess, resolve_mode
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import (
    child_pids,
    counts,
    env_for,
    is_alive,
    replies,
    wait_until,
)
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

# -- which mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "setting", "mode"),
    [
        ("sqlite:///x.db", "auto", "thread"),
        ("postgresql+psycopg://u@h/db", "auto", "process"),
        ("postgresql+psycopg://u@h/db", "thread", "thread"),
        ("sqlite:///x.db", "process", "process"),
        ("sqlite:///x.db", "OFF", "off"),
    ],
)
def test_the_mode_follows_the_setting_and_the_database(url: str, setting: str, mode: str) -> None:
    settings = load_settings(_env_file=None, database_url=url, background_work=setting)
    assert resolve_mode(settings) == mode


def test_an_unknown_mode_is_one_line_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^BACKGROUND_WORK is invalid"):
        load_settings(_env_file=None, background_work="sometimes")


# -- the supervised child -----------------------------------------------------------------

# Stands in for `escalation-bot worker`: notes each wake-up and exits at end-of-file.
CHILD = textwrap.dedent(
    """
    import os, sys
    fd = int(os.environ["ESCALATION_BOT_WAKE_FD"])
    out = open(sys.argv[1], "a", buffering=1)
    out.write(f"start {os.getpid()}\\n")
    while True:
        data = os.read(fd, 4096)
        if not data:
            out.write("eof\\n")
            break
        out.write("wake\\n")
    """
)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_the_child_is_woken_and_stops_when_the_pipe_closes(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    worker = WorkerProcess(argv=[sys.executable, "-c", CHILD, str(log)])
    worker.start()
    try:
        assert wait_until(lambda: any(x.startswith("start") for x in _lines(log)), 10)
        worker.wake()
        assert wait_until(lambda: "wake" in _lines(log), 10)
    finally:
        worker.stop(timeout=10)
    assert worker.proc is not None and worker.proc.returncode == 0
    assert _lines(log)[-1] == "eof"


def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    worker = WorkerProcess(argv=[sys.executable, "-c", CHILD, str(log)], restart_delay=0.1)
    worker.start()
    try:
        assert wait_until(lambda: len([x for x in _lines(log) if x.startswith("start")]) == 1, 10)
        first = worker.proc
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        assert wait_until(lambda: len([x for x in _lines(log) if x.startswith("start")]) == 2, 10)
        assert worker.restarts == 1
        assert worker.proc is not first
        worker.wake()  # the new child has its own pipe
        assert wait_until(lambda: "wake" in _lines(log), 10)
    finally:
        worker.stop(timeout=10)


# -- serve and worker as real processes ----------------------------------------------------


def _react(url: str, slack: FakeSlack, ts: str) -> int:
    event = payloads.reaction_added(
        team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    return SlackDriver(url, SIGNING_SECRET).event(event).status


@pytest.mark.slow
def test_serve_with_a_worker_process_opens_the_case(db_url: str, slack: FakeSlack) -> None:
    ts = slack.post_user_message(SUPPORT, CUSTOMER, "checkout fails")
    proc = ServeProcess(env_for(db_url, slack, BACKGROUND_WORK="process")).start()
    try:
        assert proc.proc is not None
        assert wait_until(lambda: len(child_pids(proc.proc.pid)) == 1, 10)
        assert _react(proc.url, slack, ts) == 200
        assert wait_until(lambda: len(replies(slack, ts)) == 1)
    finally:
        proc.stop()
    assert counts(db_url) == (1, 1)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find children")
def test_the_worker_process_does_not_outlive_a_killed_serve(
    sqlite_url: str, slack: FakeSlack
) -> None:
    proc = ServeProcess(env_for(sqlite_url, slack, BACKGROUND_WORK="process")).start()
    assert proc.proc is not None
    assert wait_until(lambda: len(child_pids(proc.proc.pid)) == 1, 10)
    (child,) = child_pids(proc.proc.pid)
    proc.kill()
    assert wait_until(lambda: not is_alive(child), 15), proc.output()


@pytest.mark.slow
def test_serve_without_background_work_leaves_it_to_a_worker(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    ts = slack.post_user_message(SUPPORT, CUSTOMER, "checkout fails")
    env = env_for(db_url, slack, BACKGROUND_WORK="off")
    proc = ServeProcess(env).start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        assert _react(proc.url, slack, ts) == 200
        assert counts(db_url) == (0, 1)
        with (tmp_path / "worker.log").open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        assert wait_until(lambda: len(replies(slack, ts)) == 1), (
            tmp_path / "worker.log"
        ).read_text()
        # Serve stored the request and, all the while until the worker opened the case,
        # processed nothing itself.
        with urllib.request.urlopen(proc.url + "/metrics", timeout=5) as resp:
            served = {
                line.split(" ")[0]: float(line.split(" ")[1])
                for line in resp.read().decode().splitlines()
                if line.startswith("escbot_inbox_")
            }
        assert served['escbot_inbox_received_total{kind="reaction_added",result="new"}'] == 1
        assert not [name for name in served if name.startswith("escbot_inbox_processed")]
    finally:
        proc.stop()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=15)
    assert worker is not None and worker.returncode == 0
    assert counts(db_url) == (1, 1)
