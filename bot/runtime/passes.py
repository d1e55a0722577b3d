"""The background work: passes over the inbox, the due timers and the outbox, one at a
time, each booked when the one before ends (a tick after it began, or sooner when a timer
falls due first), and woken at once when new requests are stored. Page webhooks go out in a
thread of their own, so a pager slow to answer never holds back a Slack message; page steps
and their messages in Slack in another (bot.runtime.page_lane), so nothing holds back a
page."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot import inbox
from bot.clock import Clock
from bot.logs import describe
from bot.oncall import handoffs
from bot.reports import schedule as weekly
from bot.runtime.behind import BehindWatch
from bot.runtime.page_lane import PageLane
from bot.slack.delivery import Deliverer, Lane
from bot.timers.firing import PolicyForCase, fire_due, next_due
from bot.timers.registry import Setup

# The logger the lag and pass-failure lines have always had, for those who filter on it.
log = logging.getLogger("bot.runtime")

# Timers firing this much later than a tick are worth a warning: the bot is overloaded or
# was down.
LAG_WARNING_SECONDS = 30.0
MIN_PASS_GAP_SECONDS = 0.05
# How long a pass spends on the inbox before the timers and the outbox get their turn: under
# a burst of requests, alerts and pages still go out every few seconds.
PHASE_SECONDS = 2.0


class Stopping(Exception):
    """Raised between units of background work once the process is shutting down."""


class Passes:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        tick_seconds: float,
        handlers: Callable[[], dict[str, inbox.Handler]],
        deliverer: Deliverer,
        policy_for_case: PolicyForCase,
        setup: Setup,
        step_aside: Callable[[], None],
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.handlers = handlers
        self.deliverer = deliverer
        self.policy_for_case = policy_for_case
        self.setup = setup
        # How background work waits for requests in flight; a worker process watches the
        # serving process's gate instead (bot/worker.py).
        self.step_aside = step_aside
        self.scheduler: BackgroundScheduler | None = None
        self._wake = threading.Event()
        self._busy = threading.Event()
        self._stopping = threading.Event()
        self._stop = threading.Event()
        self._lagging = False
        self._booked = False
        self._hooks_due = threading.Event()
        self._webhook_lane: threading.Thread | None = None
        self.behind = BehindWatch(sessions, clock)
        self.leases = inbox.Leases()
        self.page_lane = PageLane(
            sessions,
            clock,
            deliverer,
            policy_for_case,
            setup,
            tick_seconds,
            self.between_units,
            Stopping,
        )

    def book(self) -> None:
        """The timers about no case that book their own successors: each schedule's next
        handoff, and the weekly reports that have a channel: REPORT_CHANNEL's, and each
        policy's own `report_channel`."""
        with self.sessions.begin() as session:
            assert self.setup.policies is not None
            handoffs.book_all(session, self.setup.policies, self.clock.now())
            if self.setup.report_channel:
                weekly.book_next(session, self.clock.now())
            for policy in self.setup.policies:
                if policy.report_channel:
                    weekly.book_next(session, self.clock.now(), policy)
        self._booked = True

    def run_once(self) -> dict[str, int]:
        """One pass of every job: what the scheduler runs each tick, and what tests call."""
        if not self._booked:
            self.book()  # once per process; each handoff books the next
        between = self.between_units
        processed = fired = 0
        # Each job runs whatever happened to the one before: a database hiccup while firing
        # timers must not hold back messages already waiting to go out.
        try:
            processed = inbox.drain(
                self.sessions,
                self.clock,
                self.handlers(),
                between,
                budget=PHASE_SECONDS,
                leases=self.leases,
            )
        except Stopping:
            raise
        except Exception as exc:
            log.error("inbox pass failed: %s; delivery goes on", describe(exc))
        try:
            fired = fire_due(
                self.sessions,
                self.clock,
                self.policy_for_case,
                self.setup,
                between,
                on_lag=self.note_lag,
            )
        except Stopping:
            raise
        except Exception as exc:
            log.error("timer pass failed: %s; delivery goes on", describe(exc))
        self.page_lane.wake()  # a page started just now has its first step due
        # With the webhook lane running, this pass sends the rest (and wakes the lane for
        # the pages the timers just wrote); without it (tests, the demo), everything.
        if self._webhook_lane is None:
            sent = self.deliverer.drain()
        else:
            sent = self.deliverer.drain(lane=Lane.SLACK)
            self._hooks_due.set()
        try:
            self.behind.check()
        except Exception as exc:
            log.error("outbox backlog check failed: %s", describe(exc))
        return {"processed": processed, "fired": fired, "sent": sent}

    def settle(self, max_passes: int = 50) -> None:
        """Run passes until nothing is left to do now (tests and the demo)."""
        for _ in range(max_passes):
            if not any(self.run_once().values()):
                return

    def between_units(self) -> None:
        if self._stopping.is_set():
            raise Stopping  # what is left is still pending; the next process picks it up
        self.step_aside()

    def wake(self) -> None:
        self._wake.set()

    def tick(self) -> None:
        self._busy.set()
        started = time.monotonic()
        try:
            self.run_once()
        except Stopping:
            pass
        except Exception:
            log.exception("background pass failed; will try again next tick")
        finally:
            self._busy.clear()
            self._schedule_pass(self._next_pass_in(time.monotonic() - started))

    def _next_pass_in(self, elapsed: float) -> timedelta:
        """A tick after the last pass began, or sooner when a timer falls due before that,
        so timers fire at their instant rather than up to a tick and a pass later."""
        delay = max(0.0, self.tick_seconds - elapsed)
        try:
            soonest = next_due(self.sessions)
        except Exception:
            soonest = None  # the database is down: look again in a tick
        if soonest is not None:
            delay = min(delay, (soonest - self.clock.now()).total_seconds())
        turn = self.deliverer.next_turn
        if turn is not None:
            # A message left for its turn under Slack's limits goes when the turn comes.
            delay = min(delay, (turn - self.clock.now()).total_seconds())
        # Never busy-loop on a timer that is due but could not fire.
        return timedelta(seconds=max(MIN_PASS_GAP_SECONDS, delay))

    def _schedule_pass(self, delay: timedelta) -> None:
        # One pass at a time by construction: each pass books the next when it ends, so a
        # pass that overruns its tick never finds another one due beside it.
        scheduler = self.scheduler
        if scheduler is None or self._stopping.is_set():
            return
        with contextlib.suppress(SchedulerNotRunningError):
            scheduler.add_job(
                self.tick,
                "date",
                run_date=datetime.now(UTC) + delay,
                id="work",
                replace_existing=True,
                misfire_grace_time=None,
            )

    def note_lag(self, seconds: float) -> None:
        """How late the last timer fired: one warning when it passes the threshold, one
        line when it is back under it."""
        threshold = self.tick_seconds + LAG_WARNING_SECONDS
        if seconds > threshold and not self._lagging:
            self._lagging = True
            log.warning("timers are firing %.0f s after their due time", seconds)
        elif seconds <= self.tick_seconds + 1 and self._lagging:
            self._lagging = False
            log.warning("timers are firing on time again")

    def _wake_loop(self, stop: threading.Event) -> None:
        # New inbox rows are processed at once rather than waiting for the next tick. A pass
        # already running drains them itself, so it is not asked to run again.
        while not stop.is_set():
            if self._wake.wait(timeout=self.tick_seconds):
                if self.scheduler is not None and not self._busy.is_set():
                    self._wake.clear()
                    job = self.scheduler.get_job("work")
                    if job is not None:
                        job.modify(next_run_time=datetime.now(UTC))
                # At most 20 wake-ups a second; a wake-up during a pass waits for its end.
                stop.wait(0.05)

    def _webhook_passes(self, stop: threading.Event) -> None:
        """Page webhooks, each call under its deadline, every tick or when a pass wrote some."""
        while not stop.is_set():
            try:
                self.deliverer.drain(lane=Lane.WEBHOOKS)
            except Stopping:
                return
            except Exception as exc:
                log.error("webhook pass failed: %s; will try again next tick", describe(exc))
            self._hooks_due.wait(timeout=self.tick_seconds)
            self._hooks_due.clear()

    def start(self) -> None:
        self._webhook_lane = threading.Thread(
            target=self._webhook_passes, args=(self._stop,), name="webhook-lane", daemon=True
        )
        self._webhook_lane.start()
        self.page_lane.start(self._stop)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.scheduler.start()
        self._schedule_pass(timedelta(0))
        threading.Thread(target=self._wake_loop, args=(self._stop,), daemon=True).start()

    def stop(self) -> None:
        """No new unit of work starts; waits for the one running."""
        self._stopping.set()
        if self.scheduler is not None:
            self._stop.set()
            self._hooks_due.set()
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self.page_lane.join(timeout=self.deliverer.webhook_deadline + 1)
        if self._webhook_lane is not None:
            # A call in flight ends by its deadline; its row is then recorded.
            self._webhook_lane.join(timeout=self.deliverer.webhook_deadline + 1)
