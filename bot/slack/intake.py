"""What the bot does with each kind of stored request, after the ack. Each handler does its
Slack reads first, then returns the database effects to commit with the row's "done".
Commands are worked by bot/slack/command_intake.py, opening cases by
bot/slack/case_opening.py, App Home by bot/slack/home_updates.py; who may do what is
decided by bot/cases/permissions.py from the facts read here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import permissions, service, writes
from bot.cases.permissions import Actor
from bot.clock import Clock
from bot.db.models import Case
from bot.db.states import InboxKind
from bot.inbox import Effects, Handler, RetryLater, Row
from bot.oncall import messages as paging_messages
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.slack import guard
from bot.slack.case_opening import CaseOpening
from bot.slack.command_intake import CommandIntake
from bot.slack.directory import Directory, NotInstalled
from bot.slack.home_updates import HomeUpdates
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


def slack_time(ts: str) -> datetime | None:
    """The instant Slack received a message, from its ts ("1700000000.000100")."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


class Intake:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        workspaces: Workspaces,
        policies: PolicySet,
        policy_for_case: Callable[[Session, Case], Policy],
        triage_channel: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.workspaces = workspaces
        self.policies = policies
        self.policy_for_case = policy_for_case
        self._directories: dict[tuple[str, str], Directory] = {}
        self.commands = CommandIntake(sessions, clock, self.directory, policy_for_case, policies)
        self.opening = CaseOpening(
            sessions, clock, workspaces, lambda: self.policies, triage_channel
        )
        self.homes = HomeUpdates(
            sessions, clock, self.directory, lambda: self.policies, policy_for_case
        )

    def directory(self, team_id: str) -> Directory:
        """Who is who in workspace `team_id`, read with its current token (a reinstall
        brings a new one, and a new cache with it)."""
        client = self.workspaces.client(team_id)
        if client is None:
            raise NotInstalled(team_id)
        key = (team_id, str(client.token))
        found = self._directories.get(key)
        if found is None:
            found = self._directories[key] = Directory(client)
        return found

    def _on_team(self, team: str, policy: Policy, requester: str | None, user: str) -> bool:
        """Whether `user` is on the policy's support team, as the directory reads it."""
        responders = policy.responders
        return self.directory(team).is_responder(
            responders.users, responders.groups, requester, user, team
        )

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            InboxKind.REACTION_ADDED: self.opening.reaction_added,
            InboxKind.PAGE_REACTION: self.page_reaction,
            InboxKind.THREAD_MESSAGE: self.thread_message,
            InboxKind.SET_SEVERITY: self.set_severity,
            InboxKind.COMMAND: self.commands.handle,
            InboxKind.HOME: self.homes.home,
            InboxKind.READ_MESSAGE: self.opening.read_message,
        }
        return {kind: self._installed_only(h) for kind, h in handlers.items()} | {
            InboxKind.UNINSTALLED: self.uninstalled,
        }

    def _installed_only(self, handler: Handler) -> Handler:
        def handle(row: Row) -> Effects | None:
            serves = self.workspaces.serves(row.team_id)
            if serves is None and self.workspaces.identity.learn() is not None:
                serves = self.workspaces.serves(row.team_id)
            if serves is None:
                # Single-workspace mode, and Slack has not said yet whose token this is.
                raise RetryLater("the bot token's workspace is not known yet")
            if not serves:
                # Another workspace's request (or uninstalled since Slack sent it).
                return None
            return handler(row)

        return handle

    def uninstalled(self, row: Row) -> Effects | None:
        """`app_uninstalled`, or `tokens_revoked` naming the bot's token: the workspace's
        installation goes; its cases and their history stay."""
        event = row.payload.get("event") or {}
        if event.get("type") == "tokens_revoked":
            tokens = event.get("tokens") or {}
            if not tokens.get("bot"):
                return None  # only user tokens: the bot still works
        if self.workspaces.serves(row.team_id) is False and not self.workspaces.multi:
            return None  # another workspace's event: not ours to act on
        self.workspaces.forget(
            row.team_id, str(event.get("type") or "app_uninstalled"), self.clock.now()
        )
        log.warning("the app was uninstalled from workspace %s: its work stops", row.team_id)
        return None

    def page_reaction(self, row: Row) -> Effects | None:
        """The acknowledgement emoji on a page the bot sent: worked as `/case ack`, with
        the answer as a private message where the reaction was."""
        event: dict[str, Any] = row.payload["event"]
        item = event.get("item") or {}
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        user = str(event.get("user") or "")
        with self.sessions() as session:
            number = paging_messages.case_of_page_message(
                session, row.team_id, channel, ts, self.clock.now()
            )
        if number is None:
            return None  # the emoji on some other message: nothing to do
        command = Row(
            id=row.id,
            kind=InboxKind.COMMAND,
            team_id=row.team_id,
            payload={
                "command": "/case",
                "text": f"ack CASE-{number}",
                "user_id": user,
                "channel_id": channel,
            },
            attempts=row.attempts,
        )
        return self.commands.handle(command)

    def thread_message(self, row: Row) -> Effects | None:
        """A message in a thread counts for every unresolved case the thread holds, each
        judging the writer against its own requester and policy."""
        event: dict[str, Any] = row.payload["event"]
        channel, thread = str(event.get("channel")), str(event.get("thread_ts"))
        user, ts = str(event.get("user")), str(event.get("ts"))
        source = row.payload.get("event_id")
        with self.sessions() as session:
            found = [
                (case.id, case.requester_id, self.policy_for_case(session, case))
                for case in service.cases_for_thread(session, row.team_id, channel, thread)
            ]
        if not found:
            return None
        # Someone of another organisation, in a Slack Connect channel.
        external = (guard.user_team(event) or row.team_id) != row.team_id
        roles: list[tuple[int, Policy, service.Role]] = []
        for case_id, requester, policy in found:
            actor = Actor(
                user,
                external=external,
                on_team=partial(self._on_team, row.team_id, policy, requester, user),
            )
            roles.append((case_id, policy, permissions.thread_role(actor)))

        def apply(session: Session) -> None:
            for case_id, policy, role in roles:
                current = session.get(Case, case_id, with_for_update=True)
                if current is not None:
                    service.record_message(
                        session,
                        self.clock,
                        policy,
                        current,
                        user,
                        role,
                        ts,
                        source,
                        slack_time(ts),
                    )

        return apply

    def set_severity(self, row: Row) -> Effects | None:
        p = row.payload
        user = str(p["user_id"])
        with self.sessions() as session:
            case = session.execute(
                select(Case).where(Case.id == int(p["case_id"]), Case.team_id == row.team_id)
            ).scalar_one_or_none()
            if case is None or case.channel_id != p.get("channel_id"):
                return None  # a forged or stale button: the case is not in that conversation
            policy = self.policy_for_case(session, case)
        # Another organisation's user in a Slack Connect channel is never a responder; the
        # requester among them may still set severity where the policy lets requesters.
        actor = Actor(
            user,
            external=bool(p.get("external")),
            on_team=lambda: self._on_team(row.team_id, policy, case.requester_id, user),
        )
        refusal = permissions.may_set_severity(
            policy, case, actor, str(p.get("severity") or "")
        ).refusal
        case_id = case.id

        def apply(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            if current is None:
                return
            try:
                if refusal is not None:
                    raise service.CaseError(refusal)
                service.set_severity(
                    session, self.clock, policy, current, p["severity"], user, p.get("source")
                )
            except service.CaseError as exc:
                # Only the person who pressed the button needs to know.
                writes.notify(
                    session,
                    self.clock.now(),
                    current,
                    "ephemeral_notice",
                    user=user,
                    thread_ts=current.thread_ts,
                    text=str(exc),
                )

        return apply
