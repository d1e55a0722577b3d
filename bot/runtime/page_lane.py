"""Paging in a thread of its own: due page steps fire and their messages in Slack go out
beside the passes over the inbox, the other timers and the outbox, so a pass held up (a
burst of requests, `cases` locked by a migration or VACUUM FULL, a long backlog) never
holds back a page. A step fires without waiting for its case when `cases` is locked
(bot.timers.firing), and its messages render from what the step wrote on them; the main
pass may still fire and send either first (both claim their rows), as it does where this
thread does not run (tests, the demo)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.logs import describe
from bot.slack.delivery import Deliverer, Lane
from bot.timers.firing import PolicyForCase, fire_due, next_due
from bot.timers.registry import WITHOUT_CASE, Setup

log = logging.getLogger("bot.runtime")

MIN_GAP_SECONDS = 0.05


class PageLane:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        deliverer: Deliverer,
        policy_for_case: PolicyForCase,
        setup: Setup,
        tick_seconds: float,
        between: Callable[[], None],
        stopping: type[BaseException],
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        # Its own pass state, the process's Slack limits.
        self.deliverer = deliverer.sibling()
        self.policy_for_case = policy_for_case
        self.setup = setup
        self.tick_seconds = tick_seconds
        self.between = between
        self.stopping = stopping
        self._due = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Fire the page steps due now and send the page messages waiting."""
        fired = fire_due(
            self.sessions,
            self.clock,
            self.policy_for_case,
            self.setup,
            self.between,
            only=WITHOUT_CASE.keys(),
        )
        return fired + self.deliverer.drain(lane=Lane.PAGES)

    def wake(self) -> None:
        """Look now: a pass may have started a page, whose first step is due at once."""
        self._due.set()

    def _next_in(self) -> float:
        """Seconds to the next page step or a page message's turn; a tick at most."""
        delay = self.tick_seconds
        soonest = next_due(self.sessions, only=WITHOUT_CASE.keys())
        now = self.clock.now()
        for at in (soonest, self.deliverer.next_turn):
            if at is not None:
                delay = min(delay, (at - now).total_seconds())
        return max(MIN_GAP_SECONDS, delay)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            delay = self.tick_seconds
            try:
                self.run_once()
                delay = self._next_in()
            except self.stopping:
                return
            except Exception as exc:
                log.error("page pass failed: %s; will try again next tick", describe(exc))
            self._due.wait(timeout=delay)
            self._due.clear()

    def start(self, stop: threading.Event) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(stop,), name="page-lane", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._due.set()
            self._thread.join(timeout=timeout)
