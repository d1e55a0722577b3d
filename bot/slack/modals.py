"""Modals opened in Slack's window. A `trigger_id` is good for one `views.open` within 3
seconds of the request that carried it, so a modal is opened by the listener right after the
ack (a lazy listener: Slack already has its 200), never behind the outbox, where pacing or a
429 in the channel would hold it past the window. When Slack refuses (an expired trigger,
Slack down), the person gets a private answer saying what to type instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle, writes
from bot.cases.commands import Command, UsageError, parse_severity
from bot.clock import Clock
from bot.db.models import Case, Feedback
from bot.policies.policy import Policy
from bot.slack import views
from bot.slack.directory import Directory
from bot.slack.errors import error_code

log = logging.getLogger(__name__)


def needs_modal(command: Command, open_cases: int) -> bool:
    """`/severity` alone, or a level with several open cases to choose from."""
    return (
        command.verb == "severity"
        and command.number is None
        and open_cases > 0
        and (command.level is None or open_cases > 1)
    )


class Modals:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        client_for: Callable[[str], WebClient | None],
        policy_for_case: Callable[[Session, Case], Policy],
        directory: Callable[[str], Directory] | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.client_for = client_for
        self.policy_for_case = policy_for_case
        # Who is who in a workspace: names for the people the case labels mention.
        self.directory = directory

    def severity(self, body: dict[str, Any]) -> None:
        """After `/severity` is acked: the severity modal, when the command needs one."""
        team, channel = str(body.get("team_id") or ""), str(body.get("channel_id") or "")
        try:
            command = parse_severity(str(body.get("text") or ""))
        except UsageError:
            return
        with self.sessions() as session:
            choices = lifecycle.unresolved_in_channel(session, team, channel)
            if not needs_modal(command, len(choices)):
                return
            policy = self.policy_for_case(session, choices[0])
            cases = [
                (c.number, f"{c.key}: {_severity_name(policy, c.severity)}, {c.text[:40]}")
                for c in choices
            ]
        levels = [(s.id, s.name, s.description or "") for s in policy.ordered_severities]
        chosen = policy.severity(command.level) if command.level else None
        view = views.severity_modal(
            cases, levels, channel, chosen.id if chosen else None, command.note, self._names(team)
        )
        keys = ", ".join(f"CASE-{n}" for n, _ in cases)
        instead = (
            "The severity form could not be opened. Type `/severity CASE-n LEVEL [reason]` "
            f"instead; open cases here: {keys}."
        )
        self._open(team, channel, body, view, instead)

    def _names(self, team: str) -> Callable[[str], str | None] | None:
        if self.directory is None:
            return None
        try:
            return self.directory(team).name
        except LookupError:
            return None

    def feedback(
        self, team: str, user: str, channel: str, number: int, body: dict[str, Any]
    ) -> None:
        """After a rating button: the optional comment, for the case's requester while the
        case has no comment yet."""
        with self.sessions() as session:
            case = lifecycle.in_channel(session, team, channel, number)
            if case is None or case.requester_id != user:
                return
            comment = session.execute(
                select(Feedback.comment).where(Feedback.case_id == case.id)
            ).scalar_one_or_none()
            if comment:
                return
            key = case.key
        view = views.feedback_modal(key, number, channel)
        instead = f"To add a comment, type `/case comment {key} your words`."
        self._open(team, channel, body, view, instead)

    def details(self, team: str, channel: str, number: int, body: dict[str, Any]) -> None:
        """After "Add details": the case's intake form, with the answers given so far."""
        with self.sessions() as session:
            case = lifecycle.in_channel(session, team, channel, number)
            if case is None:
                return
            policy = self.policy_for_case(session, case)
            intake = policy.intake_for(case.severity) if policy.severity(case.severity) else None
            if intake is None or not intake.fields:
                return
            key, answers = case.key, dict(case.details or {})
        fields = [(f.id, f.label, f.required) for f in intake.fields]
        view = views.details_modal(key, number, channel, fields, answers)
        instead = f"The details form of {key} could not be opened: press Add details again."
        self._open(team, channel, body, view, instead)

    def _open(
        self, team: str, channel: str, body: dict[str, Any], view: dict[str, Any], instead: str
    ) -> None:
        trigger = body.get("trigger_id")
        client = self.client_for(team)
        why = "no trigger_id" if not isinstance(trigger, str) or not trigger else None
        if why is None and client is None:
            why = "not installed"
        if why is None:
            assert client is not None and isinstance(trigger, str)
            try:
                client.views_open(trigger_id=trigger, view=view)
                return
            except Exception as exc:
                why = error_code(exc) or type(exc).__name__
        log.warning("could not open a modal (%s): answering with text", why)
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        with self.sessions.begin() as session:
            writes.enqueue(
                session,
                self.clock.now(),
                team_id=team,
                channel_id=channel,
                intent="command_reply",
                dedupe_key=f"modal-fallback:{trigger or user}",
                user=str(user or ""),
                response_url=body.get("response_url"),
                text=instead,
            )


def _severity_name(policy: Policy, severity: str) -> str:
    found = policy.severity(severity)
    return found.name if found else severity
