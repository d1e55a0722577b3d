"""The bot behind its real HTTP endpoint: in a thread (for most tests) or as a separate
`escalation-bot serve` process (for crash and multi-replica tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.settings import Settings
from tests.support.logscan import COLLECTOR

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(db_url: str, slack_url: str, token: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "slack_api_url": slack_url,
        "slack_bot_token": token,
        "slack_signing_secret": SIGNING_SECRET,
        "policies_path": "policies",
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def wait_http(url: str, timeout: float = 20.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == status:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == status:
                return
            last = exc
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} not answering {status}: {last}")


class ServeProcess:
    """`escalation-bot serve` as a child process."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a chatty process must never block on a full pipe.
        self.log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)  # noqa: SIM115
        COLLECTOR.files.append(Path(self.log.name))

    def start(self, wait: bool = True) -> ServeProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        assert self.proc is not None
        try:
            wait_http(self.url + "/readyz")
        except TimeoutError:
            self.stop()
            out = self.output()
            raise RuntimeError(f"serve did not become ready:\n{out}") from None

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no cleanup, no graceful shutdown
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
