"""Acks first. Slack needs an answer within 3 seconds; the work behind it can wait a little.
Requests hold the gate while they are being answered, and background passes step aside
between units of work until no request is in flight (or a short while has passed, so that
the work still advances under constant load).

When the background work runs in a worker process (bot/worker.py), the serving process
mirrors its count of requests in flight into one shared byte, and the worker's
`WatchedGate` steps aside by watching that byte."""

from __future__ import annotations

import mmap
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RequestGate:
    def __init__(self, max_wait: float = 0.1) -> None:
        self.max_wait = max_wait
        self._in_flight = 0
        self._idle = threading.Condition()
        self._shared: mmap.mmap | None = None
        self._shared_fd: int | None = None

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
            self._mirror()
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._mirror()
                if self._in_flight == 0:
                    self._idle.notify_all()

    def step_aside(self) -> None:
        """Called by background work between units: wait while requests are in flight."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=self.max_wait)

    def share(self) -> int:
        """A file descriptor of the byte that mirrors the requests in flight, for a worker
        process to watch (`WatchedGate`)."""
        with self._idle:
            if self._shared_fd is None:
                # An unlinked temporary file: nothing to clean up, whatever ends the process.
                with tempfile.TemporaryFile() as f:
                    fd = os.dup(f.fileno())
                os.ftruncate(fd, mmap.PAGESIZE)
                self._shared = mmap.mmap(fd, mmap.PAGESIZE)
                self._shared_fd = fd
                self._mirror()
            return self._shared_fd

    def _mirror(self) -> None:
        if self._shared is not None:
            self._shared[0] = min(self._in_flight, 255)


class WatchedGate:
    """The worker's side of a `RequestGate` in the serving process."""

    def __init__(self, fd: int, max_wait: float = 0.1, poll: float = 0.002) -> None:
        self._shared = mmap.mmap(fd, mmap.PAGESIZE)
        self.max_wait = max_wait
        self.poll = poll

    def step_aside(self) -> None:
        deadline = time.monotonic() + self.max_wait
        while self._shared[0] and time.monotonic() < deadline:
            time.sleep(self.poll)
