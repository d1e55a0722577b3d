"""The composition root: builds one process from its settings (database, policies, Slack
clients, Bolt app, background passes) and wires the parts together; the parts live in the
modules that own them. `serve`, `socket`, `demo` and the tests all build the bot here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import inbox
from bot.cases.snapshots import Snapshots
from bot.clock import Clock, SystemClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case
from bot.gate import RequestGate
from bot.inbox_writer import InboxWriter, Pending
from bot.policies.loader import load_policies
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.runtime.health import Health
from bot.runtime.passes import Passes
from bot.settings import Settings
from bot.slack import install
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.delivery import Deliverer
from bot.slack.intake import Intake
from bot.slack.modals import Modals
from bot.slack.workspaces import Workspaces
from bot.timers.registry import Setup

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
        paced: bool = True,
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
            store = install.installation_store(self.engine, settings)
            if settings.slack_state_secret is not None:
                self.oauth = install.oauth_flow(self.engine, store, settings, self.clock)
        self.workspaces = Workspaces(client_for, token, store, self.sessions)
        self.client = self.workspaces.default_client
        self.snapshots = Snapshots()
        self.health = Health(self.engine, self.sessions, self.workspaces, self.clock)
        self.gate = RequestGate()
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
            paced=paced,
            between=lambda: self.passes.between_units(),
            webhook_secret=(
                settings.page_webhook_secret.get_secret_value()
                if settings.page_webhook_secret
                else None
            ),
        )
        self.passes = Passes(
            self.sessions,
            self.clock,
            settings.tick_seconds,
            self.intake.handlers,
            self.deliverer,
            self.policy_for_case,
            Setup(
                self.policies,
                settings.triage_channel,
                settings.report_channel,
                settings.report_by,
            ),
            # How background work waits for requests in flight; a worker process watches
            # the serving process's gate instead (bot/worker.py).
            step_aside=self.gate.step_aside,
        )

    # -- database -----------------------------------------------------------------------
    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def ready(self) -> tuple[bool, str]:
        return self.health.ready()

    def backlog(self) -> dict[tuple[str, str], int]:
        return self.health.backlog()

    def open_cases(self) -> dict[tuple[str, str], int]:
        return self.health.open_cases()

    # -- policies -----------------------------------------------------------------------
    def policy_for_case(self, session: Session, case: Case) -> Policy:
        """The policy exactly as it was when the case opened (its snapshot)."""
        return self.snapshots.policy_for_case(session, case)

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
        self.passes.wake()

    def bolt_app(self) -> App:
        self.start_identity()
        secret = self.settings.slack_signing_secret
        return build_app(
            signing_secret=secret.get_secret_value() if secret else "",
            client=self.client,
            store=self.store,
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
    def run_once(self) -> dict[str, int]:
        return self.passes.run_once()

    def settle(self, max_passes: int = 50) -> None:
        self.passes.settle(max_passes)

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
        self.passes.start()

    def stop(self) -> None:
        self.passes.stop()
        self.workspaces.identity.stop()
        self.writer.close()
        self.engine.dispose()


_DEFERRED: ContextVar[list[Pending] | None] = ContextVar("deferred_commits", default=None)
