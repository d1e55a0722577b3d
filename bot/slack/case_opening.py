"""Opening a case from a message: the trigger reaction (or the "Open a case" shortcut,
stored as one) opens one case per message. The message is read first; when Slack limits the
read, the case opens at once and its text is read later, one read serving every such case
of its channel. When the bot cannot open one, the person who reacted is told by DM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.cases import queries, service, writes
from bot.clock import Clock
from bot.db.models import InboxEvent
from bot.db.ops import after_commit, insert_ignore
from bot.db.states import InboxKind, InboxStatus
from bot.inbox import Effects, Row
from bot.metrics import CASES_OPENED
from bot.policies.policy import Policy
from bot.policies.policy_set import NoPolicyForChannel, PolicySet, WorkspaceNotSetUp
from bot.slack import guard, reader
from bot.slack.workspaces import Workspaces


class CaseOpening:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        workspaces: Workspaces,
        policies: Callable[[], PolicySet],
        triage_channel: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.workspaces = workspaces
        # The policies as loaded now: a reload replaces them.
        self.policies = policies
        self.triage_channel = triage_channel
        self.reads = reader.ReadGate(clock)

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
            policy = self.policies().for_channel(channel, row.team_id)
        except WorkspaceNotSetUp:
            return self._notice(
                row.team_id,
                user,
                f"unserved:{channel}:{user}:{source}",
                notice="not_set_up",
                source_channel=channel,
            )
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
        link = reader.permalink(client, channel, ts, self.reads, row.team_id)
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
            link = reader.permalink(client, channel, ts, self.reads, row.team_id)
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
                kind=InboxKind.READ_MESSAGE,
                team_id=team,
                payload={"channel": channel, "ts": ts, "shared_known": shared_known},
                received_at=self.clock.now(),
                status=InboxStatus.PENDING,
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
            writes.enqueue(
                session,
                self.clock.now(),
                team_id=team,
                channel_id=user,
                intent="dm_notice",
                dedupe_key=f"dm:{team}:{key}",
                **data,
            )

        return notify
