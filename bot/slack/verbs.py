"""The work of each command verb, after the ack, in a registry like the renderers' (`@renders`)
and the timers' (`@handles`): `@does` for a verb that does its own reads, `@on_case` for one
about one case of the channel, `@changes` for one that changes its case. A verb's text and
its line of help are parsed and listed by bot/cases/commands.py and bot/oncall/commands.py;
who may do it is decided by bot/cases/permissions.py, from the facts the verb reads here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle, permissions
from bot.cases.commands import Command, parse_case, parse_severity
from bot.cases.permissions import Actor, Decision
from bot.cases.service import CaseError
from bot.cases.writes import enqueue
from bot.clock import Clock
from bot.db.models import Case
from bot.inbox import Effects, Row
from bot.oncall.commands import OncallCommand, parse_oncall
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.slack.directory import Directory

PARSERS: dict[str, Callable[[str], Command | OncallCommand]] = {
    "/case": parse_case,
    "/severity": parse_severity,
    "/oncall": parse_oncall,
}


def parse(name: str, text: str) -> Command | OncallCommand:
    return PARSERS.get(name, parse_case)(text)


@dataclass(frozen=True)
class Call:
    """One stored command being worked, and what its verb works with."""

    sessions: sessionmaker[Session]
    clock: Clock
    directory_for: Callable[[str], Directory]
    policy_for_case: Callable[[Session, Case], Policy]
    policies: PolicySet
    row: Row
    command: Command | OncallCommand

    @property
    def team(self) -> str:
        return self.row.team_id

    @property
    def user(self) -> str:
        return str(self.row.payload["user_id"])

    @property
    def channel(self) -> str:
        return str(self.row.payload["channel_id"])

    @property
    def source(self) -> str:
        return f"command:{self.row.id}"

    @property
    def case_command(self) -> Command:
        assert isinstance(self.command, Command)
        return self.command

    def directory(self) -> Directory:
        """Who is who in the command's workspace (a Slack read: no database connection is
        held while it runs)."""
        return self.directory_for(self.team)

    def on_team(self, policy: Policy, requester: str | None) -> bool:
        """Whether the person is on the policy's support team, as the directory reads it."""
        responders = policy.responders
        return self.directory().is_responder(
            responders.users, responders.groups, requester, self.user, self.team
        )

    def reply(self, text: str) -> Effects:
        def reply(session: Session) -> None:
            self.enqueue_reply(session, text)

        return reply

    def enqueue_reply(self, session: Session, text: str) -> None:
        """The private answer, through the command's response URL."""
        p = self.row.payload
        enqueue(
            session,
            self.clock.now(),
            team_id=self.team,
            channel_id=self.channel,
            intent="command_reply",
            dedupe_key=f"reply:{self.row.id}",
            user=self.user,
            response_url=p.get("response_url"),
            text=text,
        )


Work = Callable[[Call], Effects | None]
VERBS: dict[tuple[str, str], Work] = {}


def does(command: str, verb: str) -> Callable[[Work], Work]:
    def register(fn: Work) -> Work:
        VERBS[(command, verb)] = fn
        return fn

    return register


def target(call: Call, session: Session) -> tuple[Case | None, str]:
    """The case a command is about: the one it names, in this channel, or else the
    channel's only open case; or why there is none."""
    command = call.case_command
    if command.number is not None:
        found = lifecycle.in_channel(session, call.team, call.channel, command.number)
        return found, f"No case CASE-{command.number} in this channel."
    open_cases = lifecycle.unresolved_in_channel(session, call.team, call.channel)
    if len(open_cases) == 1:
        return open_cases[0], ""
    if not open_cases:
        return None, "No open case in this channel."
    keys = ", ".join(c.key for c in open_cases[:10])
    return None, (
        f"This channel has {len(open_cases)} open cases ({keys}): name one, e.g. "
        f"`/severity {open_cases[0].key} {command.level}`."
    )


CaseWork = Callable[[Call, Session, Case, Policy], Effects | None]


def on_case(verb: str) -> Callable[[CaseWork], CaseWork]:
    """A `/case` verb about one case of the channel, given its case and policy in the
    session that found them."""

    def register(fn: CaseWork) -> CaseWork:
        def work(call: Call) -> Effects | None:
            with call.sessions() as session:
                case, problem = target(call, session)
                if case is None:
                    return call.reply(problem)
                return fn(call, session, case, call.policy_for_case(session, case))

        VERBS[("/case", verb)] = work
        return fn

    return register


@dataclass(frozen=True)
class Changing:
    """A change verb's case, locked in the transaction that changes it."""

    call: Call
    session: Session
    policy: Policy
    case: Case
    actor: Actor

    @property
    def clock(self) -> Clock:
        return self.call.clock

    @property
    def command(self) -> Command:
        return self.call.case_command

    @property
    def user(self) -> str:
        return self.call.user

    @property
    def source(self) -> str:
        return self.call.source


Change = Callable[[Changing], str]
Rule = Callable[[Changing], Decision]


def changes(verb: str) -> Callable[[Change], Change]:
    """A `/case` verb that changes its case: the support team's (`permissions.may_work`).
    Its function runs in the transaction and returns the person's answer."""

    def register(fn: Change) -> Change:
        def rule(c: Changing) -> Decision:
            return permissions.may_work(c.case, c.actor, c.command.verb)

        VERBS[("/case", verb)] = lambda call: change(call, rule, fn)
        return fn

    return register


def change(call: Call, rule: Rule, fn: Change) -> Effects | None:
    """Find the case, read who the person is to its support team (no database connection
    held), then in one transaction: lock it, ask `rule`, make the change and answer."""
    with call.sessions() as session:
        case, problem = target(call, session)
        if case is None:
            return call.reply(problem)
        policy = call.policy_for_case(session, case)
    actor = Actor(call.user, on_team=call.on_team(policy, case.requester_id))
    case_id = case.id

    def apply(session: Session) -> None:
        current = session.get(Case, case_id, with_for_update=True)
        assert current is not None
        changing = Changing(call, session, policy, current, actor)
        decision = rule(changing)
        try:
            text = decision.refusal if decision.refusal is not None else fn(changing)
        except CaseError as exc:
            text = str(exc)
        call.enqueue_reply(session, text)

    return apply


def severity_name(policy: Policy, severity: str) -> str:
    found = policy.severity(severity)
    return found.name if found else severity
