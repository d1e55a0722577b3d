"""Works a stored command after the ack: parses its text again, and hands it to its verb's
registered work (bot/slack/verbs.py), which does its Slack reads first and answers privately
through the response URL in the transaction of its change."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db.models import Case
from bot.inbox import Effects, Row
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet

# The verbs' modules register their work on import.
from bot.slack import case_changes, case_forms, case_info, oncall_verbs, page_acks  # noqa: F401
from bot.slack.directory import Directory
from bot.slack.verbs import PARSERS, VERBS, Call, parse


class CommandIntake:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        directory: Directory | Callable[[str], Directory],
        policy_for_case: Callable[[Session, Case], Policy],
        policies: PolicySet | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        # Each workspace's directory (multi-workspace mode), or the one directory.
        self.directory_for: Callable[[str], Directory] = (
            (lambda team: directory) if isinstance(directory, Directory) else directory
        )
        self.policy_for_case = policy_for_case
        self.policies = policies or PolicySet([])

    def handle(self, row: Row) -> Effects | None:
        name = str(row.payload["command"])
        command = parse(name, str(row.payload.get("text") or ""))
        call = Call(
            self.sessions,
            self.clock,
            self.directory_for,
            self.policy_for_case,
            self.policies,
            row,
            command,
        )
        work = VERBS.get((name if name in PARSERS else "/case", command.verb))
        if work is None:
            return call.reply(f"`{command.verb}` is not a command I know.")
        return work(call)
