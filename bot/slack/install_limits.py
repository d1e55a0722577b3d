"""The install page's rate limit: each GET of /slack/install writes a state row, so one client
address gets at most so many a minute (a window per address, from its first request)."""

from __future__ import annotations

import math
import threading

from bot.clock import Clock

WINDOW_SECONDS = 60.0
# Addresses remembered at most; past it the windows that ended are forgotten, then the
# oldest, so a flood from many addresses costs bounded memory.
MAX_ADDRESSES = 10_000


class RateLimit:
    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def take(self, address: str) -> int | None:
        """Count one request from `address`: None when it may go on, else the whole seconds
        until its window ends (for Retry-After)."""
        now = self._clock.now().timestamp()
        with self._lock:
            start, count = self._windows.get(address, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, count = now, 0
            if count >= self.per_minute:
                return max(1, math.ceil(start + WINDOW_SECONDS - now))
            self._windows[address] = (start, count + 1)
            if len(self._windows) > MAX_ADDRESSES:
                self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        live = {a: w for a, w in self._windows.items() if now - w[0] < WINDOW_SECONDS}
        if len(live) > MAX_ADDRESSES:
            live = dict(sorted(live.items(), key=lambda item: item[1][0])[-MAX_ADDRESSES // 2 :])
        self._windows = live
