"""Wires one process together: settings, database, policies, Slack client, Bolt app and the
background jobs. `serve`, `socket`, `demo` and the tests all build the bot through here."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot import inbox
from bot.cases import service
from bot.clock import Clock, SystemClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case, InboxEvent, OutboxMessage, PolicySnapshot, Timer
from bot.db.states import CaseStatus, TimerStatus
from bot.gate import RequestGate
from bot.inbox_writer import InboxWriter, Pending
from bot.logs import describe
from bot.oncall import handoffs
from bot.policies.loader import load_policies
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.reports import schedule as weekly
from bot.settings import Settings
from bot.slack import install
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.delivery import Deliverer
from bot.slack.intake import Intake
from bot.slack.modals import Modals
from bot.slack.workspaces import Workspaces
from bot.timers.firing import fire_due

log = logging.getLogger(__name__)

# Timers firing this much later than a tick are worth a warning: the bot is overloaded or
# was down.
LAG_WARNING_SECONDS = 30.0
MIN_PASS_GAP_SECONDS = 0.05


class Runtime:
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        client: WebClient | None = None,
        policies: PolicySet | None = None,
        channel_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.policies = policies or load_policies(settings.policies_path)
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        api_url = settings.slack_api_url

        def client_for(key: str | None) -> WebClient:
            if client is not None and key == token:
                return client
            return make_client(key, api_url)

        store = None
        self.oauth = None
        if settings.multi_workspace:
            assert settings.slack_client_id and settings.slack_client_secret
            store = install.installation_store(self.engine, settings.slack_client_id)
            state = settings.slack_state_secret
            if state is not None:
                self.oauth = install.oauth_flow(
                    self.engine,
                    store,
                    settings.slack_client_id,
                    settings.slack_client_secret.get_secret_value(),
                    state.get_secret_value(),
                    api_url,
                )
        self.workspaces = Workspaces(client_for, token, store, self.sessions)
        self.client = self.workspaces.default_client
        self._snapshots: dict[str, Policy] = {}
        self._wake = threading.Event()
        self._busy = threading.Event()
        self._stopping = threading.Event()
        self.gate = RequestGate()
        # How background work waits for requests in flight; a worker process watches the
        # serving process's gate instead (bot/worker.py).
        self.step_aside: Callable[[], None] = self.gate.step_aside
        # Called by the inbox writer after each committed batch: wakes the background work,
        # in this process or in a worker process (bot.worker).
        self.on_stored: Callable[[], None] = self.wake
        self.writer = InboxWriter(self.engine, self.clock, on_commit=lambda: self.on_stored())
        self.intake = Intake(
            self.sessions,
            self.clock,
            self.workspaces,
            self.policies,
            self.policy_for_case,
            settings.triage_channel,
        )
        self.deliverer = Deliverer(
            self.sessions,
            self.clock,
            self.workspaces.client,
            self.policy_for_case,
            bot_user_id=self.workspaces.bot_user_id,
            channel_interval=channel_interval,
            between=self._between_units,
            webhook_secret=(
                settings.page_webhook_secret.get_secret_value()
                if settings.page_webhook_secret
                else None
            ),
        )
        self.scheduler: BackgroundScheduler | None = None
        self._lagging = False
        self._handoffs_booked = False

    # -- database -----------------------------------------------------------------------
    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def ready(self) -> tuple[bool, str]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if not migrate.is_current(self.engine):
                return False, "database schema is not at the latest migration"
            stopped = self._uninstalled()
        except Exception as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        if stopped:
            return False, stopped
        return True, "ready"

    def _uninstalled(self) -> str | None:
        """Single-workspace mode: why the workspace's work stopped, if it did."""
        who = self.workspaces.identity.known
        if self.workspaces.multi or who is None:
            return None
        why = self.workspaces.uninstalled(who.team_id)
        if why is None:
            return None
        return (
            f"the app was uninstalled from workspace {who.team_id} ({why}): install it again"
            " and configure the new bot token"
        )

    def backlog(self) -> dict[tuple[str, str], int]:
        """Rows per (table, status) in the inbox and outbox: what is waiting or has failed."""
        counts: dict[tuple[str, str], int] = {}
        with self.sessions() as session:
            for name, model in (("inbox", InboxEvent), ("outbox", OutboxMessage)):
                rows = session.execute(
                    select(model.status, func.count()).group_by(model.status)
                ).all()
                counts.update({(name, status): int(n) for status, n in rows})
        return counts

    def open_cases(self) -> dict[tuple[str, str], int]:
        """Open cases per (policy, severity)."""
        with self.sessions() as session:
            rows = session.execute(
                select(Case.policy_id, Case.severity, func.count())
                .where(Case.status == CaseStatus.OPEN)
                .group_by(Case.policy_id, Case.severity)
            ).all()
        return {(policy, severity): int(n) for policy, severity, n in rows}

    # -- policies -----------------------------------------------------------------------
    def policy_for_case(self, session: Session, case: Case) -> Policy:
        """The policy exactly as it was when the case opened (its snapshot)."""
        cached = self._snapshots.get(case.policy_hash)
        if cached is None:
            snap = session.get(PolicySnapshot, case.policy_hash)
            if snap is None:
                raise LookupError(f"policy snapshot {case.policy_hash} missing for {case.key}")
            cached = self._snapshots[case.policy_hash] = Policy.from_snapshot(snap.content)
        return cached

    def bot_user_id(self, team_id: str | None = None) -> str | None:
        return self.workspaces.bot_user_id(team_id)

    # -- inbound ------------------------------------------------------------------------
    def store(self, req: inbox.InboundRequest) -> None:
        deferred = _DEFERRED.get()
        if deferred is not None:
            deferred.append(self.writer.submit(req))
        else:
            self.writer.store(req)

    @contextmanager
    def deferring_commits(self) -> Iterator[list[Pending]]:
        """Within this block `store` does not wait for the commit: it collects what it
        submitted, and the caller must see all of it committed (`writer.wait_async`)
        before it acks."""
        deferred: list[Pending] = []
        token = _DEFERRED.set(deferred)
        try:
            yield deferred
        finally:
            _DEFERRED.reset(token)

    def wake(self) -> None:
        self._wake.set()

    def has_case(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        with self.sessions() as session:
            return service.case_for_thread(session, team_id, channel_id, thread_ts) is not None

    def bolt_app(self) -> App:
        self.start_identity()
        secret = self.settings.slack_signing_secret
        return build_app(
            signing_secret=secret.get_secret_value() if secret else "",
            client=self.client,
            store=self.store,
            has_case=self.has_case,
            trigger_emoji=self.settings.trigger_emoji_set,
            ack_emoji=self.policies.ack_emoji(),
            bot_user_id=self.bot_user_id,
            installed=self.workspaces.installed,
            modals=Modals(
                self.sessions,
                self.clock,
                self.workspaces.client,
                self.policy_for_case,
                self.intake.directory,
            ),
            bot_token=(
                self.settings.slack_bot_token.get_secret_value()
                if self.settings.slack_bot_token
                else None
            ),
        )

    # -- background work ----------------------------------------------------------------
    def _fire_caseless(self, session: Session, timer: Timer, now: datetime) -> str | None:
        if timer.kind == handoffs.HANDOFF:
            return handoffs.fire(session, self.policies, timer, now)
        if timer.kind == weekly.WEEKLY:
            if not self.settings.report_channel:
                return "REPORT_CHANNEL is not set any more"
            return weekly.fire(
                session, self.settings.report_channel, timer, now, self.settings.report_by
            )
        return f"no handler for timer kind {timer.kind!r}"

    def book_handoffs(self) -> None:
        with self.sessions.begin() as session:
            handoffs.book_all(session, self.policies, self.clock.now())
            if self.settings.report_channel:
                weekly.book_next(session, self.clock.now())
        self._handoffs_booked = True

    def run_once(self) -> dict[str, int]:
        """One pass of every job: what the scheduler runs each tick, and what tests call."""
        if not self._handoffs_booked:
            self.book_handoffs()  # once per process; each handoff books the next
        between = self._between_units
        processed = fired = 0
        # Each job runs whatever happened to the one before: a database hiccup while firing
        # timers must not hold back messages already waiting to go out.
        try:
            processed = inbox.drain(self.sessions, self.clock, self.intake.handlers(), between)
        except _Stopping:
            raise
        except Exception as exc:
            log.error("inbox pass failed: %s; delivery goes on", describe(exc))
        try:
            fired = fire_due(
                self.sessions,
                self.clock,
                self.policy_for_case,
                self.settings.triage_channel,
                between,
                on_lag=self.note_lag,
                caseless=self._fire_caseless,
            )
        except _Stopping:
            raise
        except Exception as exc:
            log.error("timer pass failed: %s; delivery goes on", describe(exc))
        sent = self.deliverer.drain()
        return {"processed": processed, "fired": fired, "sent": sent}

    def settle(self, max_passes: int = 50) -> None:
        """Run passes until nothing is left to do now (tests and the demo)."""
        for _ in range(max_passes):
            if not any(self.run_once().values()):
                return

    def _between_units(self) -> None:
        if self._stopping.is_set():
            raise _Stopping  # what is left is still pending; the next process picks it up
        self.step_aside()

    def _tick(self) -> None:
        self._busy.set()
        started = time.monotonic()
        try:
            self.run_once()
        except _Stopping:
            pass
        except Exception:
            log.exception("background pass failed; will try again next tick")
        finally:
            self._busy.clear()
            self._schedule_pass(self._next_pass_in(time.monotonic() - started))

    def _next_pass_in(self, elapsed: float) -> timedelta:
        """A tick after the last pass began, or sooner when a timer falls due before that,
        so timers fire at their instant rather than up to a tick and a pass later."""
        delay = max(0.0, self.settings.tick_seconds - elapsed)
        try:
            with self.sessions() as session:
                next_due = session.execute(
                    select(func.min(Timer.due_at)).where(Timer.status == TimerStatus.PENDING)
                ).scalar_one_or_none()
        except Exception:
            next_due = None  # the database is down: look again in a tick
        if next_due is not None:
            delay = min(delay, (next_due - self.clock.now()).total_seconds())
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
                self._tick,
                "date",
                run_date=_utcnow() + delay,
                id="work",
                replace_existing=True,
                misfire_grace_time=None,
            )

    def note_lag(self, seconds: float) -> None:
        """How late the last timer fired: one warning when it passes the threshold, one
        line when it is back under it."""
        threshold = self.settings.tick_seconds + LAG_WARNING_SECONDS
        if seconds > threshold and not self._lagging:
            self._lagging = True
            log.warning("timers are firing %.0f s after their due time", seconds)
        elif seconds <= self.settings.tick_seconds + 1 and self._lagging:
            self._lagging = False
            log.warning("timers are firing on time again")

    def _wake_loop(self, stop: threading.Event) -> None:
        # New inbox rows are processed at once rather than waiting for the next tick. A pass
        # already running drains them itself, so it is not asked to run again.
        while not stop.is_set():
            if self._wake.wait(timeout=self.settings.tick_seconds):
                if self.scheduler is not None and not self._busy.is_set():
                    self._wake.clear()
                    job = self.scheduler.get_job("work")
                    if job is not None:
                        job.modify(next_run_time=_utcnow())
                # At most 20 wake-ups a second; a wake-up during a pass waits for its end.
                stop.wait(0.05)

    def start_identity(self) -> None:
        """Single-workspace mode: learn the token's workspace in the background; a token
        that works again after an uninstall means the app was installed again."""
        if self.workspaces.multi or self.settings.slack_bot_token is None:
            return
        identity = self.workspaces.identity
        identity.on_learned = lambda _who: self.workspaces.reinstalled()
        self.workspaces.start()

    def start(self) -> None:
        self.start_identity()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.scheduler.start()
        self._schedule_pass(timedelta(0))
        self._stop = threading.Event()
        threading.Thread(target=self._wake_loop, args=(self._stop,), daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self.workspaces.identity.stop()
        if self.scheduler is not None:
            self._stop.set()
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self.writer.close()
        self.engine.dispose()


_DEFERRED: ContextVar[list[Pending] | None] = ContextVar("deferred_commits", default=None)


class _Stopping(Exception):
    """Raised between units of background work once the process is shutting down."""


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
