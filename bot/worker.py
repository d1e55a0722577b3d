"""Where the background work runs: reading messages, opening cases, firing timers, posting
to Slack.

- `thread`: in the process that answers Slack, between requests. SQLite's default: one
  file has one writer at a time, and a second process would wait for its lock by sleeping.
- `process`: `serve` starts `escalation-bot worker` as a child process and wakes it through
  a pipe when a request is stored. PostgreSQL's default: the acks keep a core (and the GIL)
  to themselves, and the operating system, not the bot, decides who runs when both are
  busy; the worker runs at a lower priority so the acks win.
- `off`: this process only stores and acks; `escalation-bot worker` runs elsewhere and finds
  new rows every TICK_SECONDS.

The child is bound to its parent by the pipe: when the parent dies, even by SIGKILL, the
child reads end-of-file, finishes the unit of work it is in and exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from bot.gate import WatchedGate
from bot.metrics import WORKER_RESTARTS

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.settings import Settings

log = logging.getLogger(__name__)

WAKE_FD_ENV = "ESCALATION_BOT_WAKE_FD"
GATE_FD_ENV = "ESCALATION_BOT_GATE_FD"


def resolve_mode(settings: Settings) -> str:
    if settings.background_work != "auto":
        return settings.background_work
    return "thread" if settings.database_url.startswith("sqlite") else "process"


class WorkerProcess:
    """The parent's handle on its worker child: starts it, wakes it, restarts it if it dies."""

    def __init__(
        self,
        gate_fd: int | None = None,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
        restart_delay: float = 1.0,
        max_restart_delay: float = 30.0,
    ) -> None:
        self.gate_fd = gate_fd
        self.argv = argv or [sys.executable, "-m", "bot", "worker"]
        self.env = env
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._wake_w: int | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)
        self._monitor.start()

    def _spawn(self) -> None:
        if self._stopping.is_set():
            return
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        env = dict(self.env if self.env is not None else os.environ)
        env[WAKE_FD_ENV] = str(read_end)
        fds = [read_end]
        if self.gate_fd is not None:
            env[GATE_FD_ENV] = str(self.gate_fd)
            fds.append(self.gate_fd)
        try:
            proc = subprocess.Popen(self.argv, env=env, pass_fds=fds)
        finally:
            os.close(read_end)
        with self._lock:
            old, self._wake_w, self.proc = self._wake_w, write_end, proc
        if old is not None:
            os.close(old)
        log.info("background worker started", extra={"pid": proc.pid})

    def wake(self) -> None:
        """Tell the worker there is new work. Never blocks: a full pipe is already a wake-up."""
        with self._lock:
            fd = self._wake_w
            if fd is None:
                return
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(fd, b"!")

    def _watch(self) -> None:
        delay = self.restart_delay
        while not self._stopping.is_set():
            proc = self.proc
            assert proc is not None
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.error(
                "background worker exited with status %s; starting it again in %.0f s",
                code,
                delay,
            )
            if self._stopping.wait(delay):
                return
            # A worker that ran for a while before dying gets a fresh, short delay.
            ran_long = time.monotonic() - started > 60
            delay = self.restart_delay if ran_long else min(delay * 2, self.max_restart_delay)
            self.restarts += 1
            WORKER_RESTARTS.inc()
            while not self._stopping.is_set():
                try:
                    self._spawn()
                    break
                except OSError as exc:
                    log.error("cannot start the background worker (%s); trying again", exc)
                    self._stopping.wait(delay)

    def stop(self, timeout: float = 10.0) -> None:
        """Closing the pipe asks the worker to finish its unit of work and exit."""
        self._stopping.set()
        with self._lock:
            fd, self._wake_w = self._wake_w, None
            proc = self.proc
        if fd is not None:
            os.close(fd)
        if proc is None:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("background worker did not stop in %.0f s; terminating it", timeout)
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Background:
    """Starts and stops the background work beside a serving process, in the given mode."""

    def __init__(self, runtime: Runtime, mode: str) -> None:
        if mode not in ("thread", "process", "off"):
            raise ValueError(f"unknown background mode {mode!r}")
        self.runtime = runtime
        self.mode = mode
        self.worker: WorkerProcess | None = None

    def start(self) -> None:
        if self.mode == "thread":
            self.runtime.start()
        elif self.mode == "process":
            self.worker = WorkerProcess(gate_fd=self.runtime.gate.share())
            self.runtime.on_stored = self.worker.wake
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.runtime.stop()


def run_worker(runtime: Runtime) -> None:
    """The `worker` command's loop: background passes until told to stop.

    Stops on SIGTERM or SIGINT, or, when started by `serve`, when the parent's end of the
    wake pipe closes."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gate_fd = os.environ.pop(GATE_FD_ENV, None)
    if gate_fd is not None:
        runtime.passes.step_aside = WatchedGate(int(gate_fd)).step_aside
    fd_text = os.environ.pop(WAKE_FD_ENV, None)
    if fd_text is not None:
        if hasattr(os, "nice"):
            os.nice(5)  # the acks in the parent come first when both want the CPU
        fd = int(fd_text)
        threading.Thread(
            target=_read_wakeups, args=(fd, runtime, stop), name="wake-pipe", daemon=True
        ).start()
    runtime.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runtime.stop()


def _read_wakeups(fd: int, runtime: Runtime, stop: threading.Event) -> None:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            log.info("the serving process is gone; the worker stops")
            stop.set()
            return
        runtime.wake()
