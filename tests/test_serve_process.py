"""`escalation-bot serve` as real processes: crashes, replicas, readiness, bad settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.db import database, quiet
from tests.support.fake_slack import FakeSlack
from tests.support.proxy import TcpProxy
from tests.support.serve_process import counts, env_for, replies, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess, wait_http
from tests.support.signing import SlackDriver

pytestmark = pytest.mark.slow


@pytest.fixture
def any_db(db_url: str) -> Iterator[str]:
    yield db_url


def test_sigkill_right_after_the_ack_loses_nothing(any_db: str, slack: FakeSlack) -> None:
    ts = slack.post_user_message(SUPPORT, CUSTOMER, "the API is down")
    # Hold the bot's first read of the message so the kill lands between ack and processing.
    slack.delay("conversations.history", 3.0)
    first = ServeProcess(env_for(any_db, slack)).start()
    try:
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert SlackDriver(first.url, SIGNING_SECRET).event(event).status == 200
        first.kill()
    finally:
        first.stop()
    assert counts(any_db) == (0, 1)  # acked, stored, not yet processed

    second = ServeProcess(env_for(any_db, slack)).start()
    try:
        assert wait_until(lambda: len(replies(slack, ts)) >= 1)
        assert wait_until(lambda: quiet(any_db))  # nothing left that could post again
    finally:
        second.stop()
    assert counts(any_db) == (1, 1)
    assert len(replies(slack, ts)) == 1


@pytest.mark.postgres
def test_two_replicas_receiving_the_same_event_open_one_case(
    tmp_path: Path, slack: FakeSlack
) -> None:
    with database("postgres", tmp_path) as url:
        ts = slack.post_user_message(SUPPORT, CUSTOMER, "both of you, help")
        a = ServeProcess(env_for(url, slack))
        b = ServeProcess(env_for(url, slack))
        # Both start at once on an empty database: migrations run under an advisory lock.
        for proc in (a, b):
            proc.start(wait=False)
        for proc in (a, b):
            proc.wait_ready()
        try:
            event = payloads.reaction_added(
                team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            ra = SlackDriver(a.url, SIGNING_SECRET).event(event)
            rb = SlackDriver(b.url, SIGNING_SECRET).event(event, retry_num=1)
            assert (ra.status, rb.status) == (200, 200)
            assert wait_until(lambda: len(replies(slack, ts)) >= 1)
            assert wait_until(lambda: quiet(url))  # nothing left that could post again
        finally:
            a.stop()
            b.stop()
        assert counts(url) == (1, 1)
        assert len(replies(slack, ts)) == 1


@pytest.mark.postgres
def test_readyz_follows_the_database_and_events_are_refused_while_it_is_down(
    tmp_path: Path, slack: FakeSlack
) -> None:
    with database("postgres", tmp_path) as url:
        proxy = TcpProxy(("127.0.0.1", 5432)).start()
        proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        proc = ServeProcess(env_for(proxied, slack)).start()
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        ts = slack.post_user_message(SUPPORT, CUSTOMER, "hello?")
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        try:
            proxy.cut()
            wait_http(proc.url + "/readyz", status=503)
            # Slack must hear a failure, so that it delivers the event again.
            assert driver.event(event).status >= 500
            wait_http(proc.url + "/healthz")  # the process itself lives on
            proxy.start()
            wait_http(proc.url + "/readyz", status=200)
            assert driver.event(event, retry_num=1).status == 200
            assert wait_until(lambda: len(replies(slack, ts)) == 1)
        finally:
            proc.stop()
            proxy.cut()
        assert counts(url) == (1, 1)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}, "DATABASE_URL"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"TICK_SECONDS": "soon"}, "TICK_SECONDS"),
        ({"SLACK_BOT_TOKEN": "hello"}, "SLACK_BOT_TOKEN"),
    ],
)
def test_serve_with_bad_settings_exits_with_one_clear_line(
    tmp_path: Path, slack: FakeSlack, override: dict[str, str], named: str
) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'x.db'}", slack, **override)
    result = run_cli("serve", "--port", "0", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr


def test_tokens_and_secrets_never_reach_the_logs(tmp_path: Path, slack: FakeSlack) -> None:
    db = f"sqlite:///{tmp_path / 'logs.db'}"
    proc = ServeProcess(env_for(db, slack, LOG_LEVEL="DEBUG")).start()
    try:
        ts = slack.post_user_message(SUPPORT, CUSTOMER, "log me")
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert SlackDriver(proc.url, SIGNING_SECRET).event(event).status == 200
        assert wait_until(lambda: len(replies(slack, ts)) == 1)
    finally:
        proc.stop()
    logs = proc.output()
    # The debug level was on; the Web API client's own debug lines (bodies, headers) are
    # never emitted, whatever the level.
    assert '"level": "DEBUG"' in logs
    assert "headers:" not in logs
    assert slack.token not in logs
    assert SIGNING_SECRET not in logs


def test_serve_without_auto_migrate_on_an_empty_database_says_what_to_run(
    tmp_path: Path, slack: FakeSlack
) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'empty.db'}", slack, AUTO_MIGRATE="false")
    result = run_cli("serve", "--port", "0", env=env)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "escalation-bot db upgrade" in line
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert counts(env["DATABASE_URL"]) == (0, 0)


def test_socket_mode_without_an_app_token_exits_with_one_clear_line(
    tmp_path: Path, slack: FakeSlack
) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'x.db'}", slack)
    result = run_cli("socket", env=env)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "SLACK_APP_TOKEN" in line
