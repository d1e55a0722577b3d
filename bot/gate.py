"""Acks first. Slack needs an answer within 3 seconds; the work behind it can wait a little.
Requests hold the gate while they are being answered, and background passes step aside
between units of work until no request is in flight (or a short while has passed, so that
the work still advances under constant load)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RequestGate:
    def __init__(self, max_wait: float = 0.1) -> None:
        self.max_wait = max_wait
        self._in_flight = 0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    def step_aside(self) -> None:
        """Called by background work between units: wait while requests are in flight."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=self.max_wait)
