"""What the bot does with each kind of stored request, after the ack. Each handler does its
Slack reads first, then returns the database effects to commit with the row's "done"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle, queries, service
from bot.clock import Clock
from bot.db.models import Case, InboxEvent
from bot.db.ops import after_commit, insert_ignore
from bot.inbox import Effects, Handler, RetryLater, Row
from bot.metrics import CASES_OPENED
from bot.oncall import messages as paging_messages
from bot.oncall import paging
from bot.oncall import text as oncall_text
from bot.policies.policy import Policy
from bot.policies.policy_set import NoPolicyForChannel, PolicySet
from bot.slack import guard, home, reader
from bot.slack.commands import CommandIntake
from bot.slack.directory import Directory, NotInstalled
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


def slack_time(ts: str) -> datetime | None:
    """The instant Slack received a message, from its ts ("1700000000.000100")."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (ValueError, OverflowError, OSError):
        return None


# App Home's "at risk": the soonest due of this many, in the viewer's channels, are shown.
AT_RISK_POOL, AT_RISK_SHOWN = 200, 15


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
        self.triage_channel = triage_channel
        self._directories: dict[tuple[str, str], Directory] = {}
        self.reads = reader.ReadGate(clock)
        self.commands = CommandIntake(sessions, clock, self.directory, policy_for_case, policies)

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

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "reaction_added": self.reaction_added,
            "page_reaction": self.page_reaction,
            "thread_message": self.thread_message,
            "set_severity": self.set_severity,
            "command": self.commands.handle,
            "home": self.home,
            "read_message": self.read_message,
        }
        return {kind: self._installed_only(h) for kind, h in handlers.items()} | {
            "uninstalled": self.uninstalled,
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

    def home(self, row: Row) -> Effects | None:
        """Publish a person's App Home: on `app_home_opened`, and when a case of theirs
        changes."""
        user = str(row.payload.get("user") or "")
        directory = self.directory(row.team_id)
        if not user or not directory.in_workspace(user, row.team_id):
            return None  # another organisation's user has no App Home of ours here
        responder = any(
            directory.is_responder(p.responders.users, p.responders.groups, None, user, row.team_id)
            for p in self.policies
        )
        # The team's cases at risk, from the channels the viewer may see (a private
        # channel's cases are for its members): read before the transaction, cached.
        visible: frozenset[str] = frozenset()
        if responder:
            with self.sessions() as session:
                at_risk = queries.at_risk(session, row.team_id, self.clock.now(), AT_RISK_POOL)
                channels = {case.channel_id for case in at_risk}
            visible = frozenset(ch for ch in channels if directory.can_see(user, ch))

        def publish(session: Session) -> None:
            now = self.clock.now()

            def shown(cases: list[Case], with_notes: bool = True) -> list[home.HomeCase]:
                # The team's sections show each case's latest internal note.
                kept = lifecycle.notes(session, [c.id for c in cases]) if with_notes else {}
                out = []
                for case in cases:
                    try:
                        policy = self.policy_for_case(session, case)
                    except (LookupError, ValueError):
                        # A case whose policy no longer loads is listed by its severity id;
                        # its timers say why (parked), and the other cases still show.
                        policy = None
                    severity = policy.severity(case.severity) if policy else None
                    out.append(
                        home.HomeCase(
                            case.key,
                            case.permalink,
                            case.channel_id,
                            severity.name if severity else case.severity,
                            case.status,
                            queries.next_due(case),
                            kept[case.id][-1][2] if case.id in kept else None,
                        )
                    )
                return out

            team = row.team_id
            on_call = [
                oncall_text.now_and_next(paging.schedule(session, name, spec, now), now)
                for name, spec in sorted(self.policies.schedules().items())
            ]
            view = home.home_view(
                now,
                responder,
                shown(queries.assigned_to(session, team, user)),
                shown(queries.requested_by(session, team, user), with_notes=responder),
                shown(
                    [
                        case
                        for case in queries.at_risk(session, team, now, AT_RISK_POOL)
                        if case.channel_id in visible
                    ][:AT_RISK_SHOWN]
                )
                if responder
                else [],
                on_call,
            )
            service.enqueue(
                session, now, team_id=team, channel_id=user, intent="home_view", view=view
            )

        return publish

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
            kind="command",
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

    def reaction_added(self, row: Row) -> Effects | None:
        event: dict[str, Any] = row.payload["event"]
        item = event.get("item") or {}
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        user, source = str(event.get("user") or ""), row.payload.get("event_id")
        if not (channel and ts and user):
            return None  # malformed: nothing to open a case from
        with self.sessions() as session:
            known = service.find_case(session, row.team_id, channel, ts) is not None

        if known:

            def reacted_again(session: Session) -> None:
                service.record_reaction(session, self.clock, row.team_id, channel, ts, user, source)

            return reacted_again
        try:
            policy = self.policies.for_channel(channel)
        except NoPolicyForChannel:
            return self._notice(
                row.team_id,
                user,
                f"uncovered:{channel}:{user}:{source}",
                notice="no_policy",
                source_channel=channel,
            )

        try:
            client = self.workspaces.client(row.team_id)
            if client is None:
                return None  # uninstalled since: nothing to read the message with
            message = reader.fetch_message(client, channel, ts, self.reads, row.team_id)
        except reader.RateLimited as limited:
            # Reading the message must wait; the case and its card need not. The event says
            # who wrote the message and where; the text is read when Slack allows.
            return self._open_unread(row, policy, client, event, limited.after or 60.0)
        except reader.CannotRead:
            return self._notice(
                row.team_id,
                user,
                f"invite:{channel}:{user}:{source}",
                notice="invite_hint",
                source_channel=channel,
            )
        if message is None:
            return None  # deleted before we could read it: nothing to open
        link = reader.permalink(client, channel, ts)
        # Events say whether the channel is shared; the message shortcut does not.
        flag = row.payload.get("is_ext_shared_channel")
        shared = bool(flag) if flag is not None else reader.is_shared(client, channel)
        req = service.OpenCase(
            team_id=row.team_id,
            channel_id=channel,
            message_ts=ts,
            thread_ts=message.thread_ts or message.ts,
            requester_id=message.user or event.get("item_user"),
            opened_by=user,
            text=message.text,
            permalink=link,
            source_event=source,
            shared=shared,
        )

        def open_it(session: Session) -> None:
            opened = service.open_case(session, self.clock, policy, req, self.triage_channel)
            if opened.created:
                after_commit(session, CASES_OPENED.inc)

        return open_it

    def _open_unread(
        self, row: Row, policy: Policy, client: Any, event: dict[str, Any], wait: float
    ) -> Effects:
        item = event.get("item") or {}
        channel, ts = str(item.get("channel")), str(item.get("ts"))
        try:
            link = reader.permalink(client, channel, ts)
        except reader.RetryLater:
            link = None
        flag = row.payload.get("is_ext_shared_channel")
        req = service.OpenCase(
            team_id=row.team_id,
            channel_id=channel,
            message_ts=ts,
            # A reply's card posted with its own ts lands in its thread all the same; the
            # read corrects the thread for the replies that follow.
            thread_ts=ts,
            requester_id=event.get("item_user"),
            opened_by=str(event.get("user")),
            text="",
            permalink=link,
            source_event=row.payload.get("event_id"),
            # Unknown without a read: treated as shared until the read says otherwise.
            shared=bool(flag) if flag is not None else True,
        )
        due = self.clock.now() + timedelta(seconds=wait)

        def open_it(session: Session) -> None:
            opened = service.open_case(session, self.clock, policy, req, self.triage_channel)
            if not opened.created:
                return
            after_commit(session, CASES_OPENED.inc)
            self._read_later(session, row.team_id, channel, ts, flag is not None, due)

        return open_it

    def _read_later(
        self,
        session: Session,
        team: str,
        channel: str,
        ts: str,
        shared_known: bool,
        due: datetime,
        again: str = "",
    ) -> None:
        insert_ignore(
            session,
            InboxEvent.__table__,
            dict(
                dedupe_key=guard.key("read", team, channel, ts, again),
                kind="read_message",
                team_id=team,
                payload={"channel": channel, "ts": ts, "shared_known": shared_known},
                received_at=self.clock.now(),
                status="pending",
                attempts=0,
                next_attempt_at=due,
            ),
        )

    def read_message(self, row: Row) -> Effects | None:
        """The text of cases opened before their message could be read (`_open_unread`),
        once Slack allows a read: one read serves every such case of the channel it spans."""
        team = row.team_id
        channel, ts = str(row.payload.get("channel")), str(row.payload.get("ts"))
        client = self.workspaces.client(team)
        if client is None:
            return None
        with self.sessions() as session:
            case = service.find_case(session, team, channel, ts)
            if case is None or case.text:
                return None  # read already, with another case of its channel
            unread = queries.unread_in_channel(session, team, channel, ts)
        stamps = sorted(unread, key=Decimal)[: reader.READ_PAGE]
        retry_in: float | None = None
        try:
            found = reader.fetch_messages(client, channel, stamps, self.reads, team)
            if ts not in found:
                # A reply in a thread (channel history does not hold it; its thread does),
                # or a busy channel pushed it off the page.
                try:
                    reply = reader.fetch_message(client, channel, ts, self.reads, team)
                except reader.RateLimited as limited:
                    if not found:
                        raise
                    retry_in = limited.after or 60.0  # keep what was read; this one later
                else:
                    if reply is not None:
                        found[ts] = reply
        except reader.CannotRead:
            return None  # the bot left the channel since: the cases keep what they have
        shared_known = bool(row.payload.get("shared_known"))
        shared = None if row.payload.get("shared_known") else reader.is_shared(client, channel)

        def fill(session: Session) -> None:
            if retry_in is not None:
                due = self.clock.now() + timedelta(seconds=retry_in)
                self._read_later(session, team, channel, ts, shared_known, due, str(row.id))
            for message_ts, message in found.items():
                case = service.find_case(session, team, channel, message_ts)
                if case is None or case.text:
                    continue
                case.text = message.text
                case.thread_ts = message.thread_ts or message.ts
                if message.user and case.requester_id is None:
                    case.requester_id = message.user
                if shared is not None:
                    case.shared = shared

        return fill

    def _notice(self, team: str, user: str, key: str, **data: Any) -> Effects:
        def notify(session: Session) -> None:
            # A direct message to the person who reacted: the channel may be one the bot
            # cannot post in, and nobody else needs to see it.
            service.enqueue(
                session,
                self.clock.now(),
                team_id=team,
                channel_id=user,
                intent="dm_notice",
                dedupe_key=f"dm:{team}:{key}",
                **data,
            )

        return notify

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
        # Someone of another organisation in a Slack Connect channel is on the requester's
        # side, never a responder, whoever else the policy counts.
        external = (guard.user_team(event) or row.team_id) != row.team_id
        roles: list[tuple[int, Policy, service.Role]] = []
        for case_id, requester, policy in found:
            responders = policy.responders
            from_responder = not external and self.directory(row.team_id).is_responder(
                responders.users, responders.groups, requester, user, row.team_id
            )
            role: service.Role = "responder" if from_responder else "requester"
            roles.append((case_id, policy, role))

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
        responders = policy.responders
        # Another organisation's user in a Slack Connect channel is never a responder; the
        # requester among them may still set severity where the policy lets requesters.
        is_responder = not p.get("external") and self.directory(row.team_id).is_responder(
            responders.users, responders.groups, case.requester_id, user, row.team_id
        )
        refusal = service.severity_refusal(
            policy, case, user, is_responder, str(p.get("severity") or "")
        )
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
                service.notify(
                    session,
                    self.clock.now(),
                    current,
                    "ephemeral_notice",
                    user=user,
                    thread_ts=current.thread_ts,
                    text=str(exc),
                )

        return apply
