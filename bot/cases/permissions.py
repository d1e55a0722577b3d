"""Who may do what to a case: change its severity, acknowledge its page, work it (take,
assign, wait, resume, work around, reopen, resolve, note), add its details; who counts as a
responder in its thread, who reads its internal notes, who sets on-call overrides.

The facts come in as plain values: who the actor is to the policy's support team, to the
case (its requester), to the page (paged or not) and to the workspace (another
organisation's user in a Slack Connect channel, or a member of the installing one). A fact
that costs the caller a Slack read may come as a function: it is called once, and only when
a rule needs it, so asking here reads no more than the rule does. Each rule answers with a
`Decision`: allowed, or the refusal the person is shown. No Slack, no database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.policies.policy import Policy

# A fact about the actor: known, or read (once) when a rule asks for it.
Fact = bool | Callable[[], bool]


class CaseFacts(Protocol):
    """What the rules read of a case (a `Case` row or a `CaseView`)."""

    @property
    def key(self) -> str: ...

    @property
    def requester_id(self) -> str | None: ...

    @property
    def first_response_at(self) -> datetime | None: ...


class Actor:
    """Who asks, as far as the caller knows them."""

    def __init__(
        self,
        user: str,
        *,
        on_team: Fact = False,
        external: bool = False,
        paged: Fact = False,
        member: Fact = True,
    ) -> None:
        self.user = user
        # Another organisation's user, in a channel shared with it (Slack Connect).
        self.external = external
        self._facts: dict[str, Fact] = {"on_team": on_team, "paged": paged, "member": member}

    def _fact(self, name: str) -> bool:
        found = self._facts[name]
        if callable(found):
            found = self._facts[name] = bool(found())
        return found

    @property
    def responder(self) -> bool:
        """On the policy's support team (listed, in one of its groups, or any full member of
        the workspace when it lists nobody). Another organisation's user never is, whoever
        the policy lists: they are on the requester's side."""
        return not self.external and self._fact("on_team")

    @property
    def paged(self) -> bool:
        """The case's page reached them: by name, or through a user group of theirs."""
        return self._fact("paged")

    @property
    def member(self) -> bool:
        """A member of the installing organisation's workspace."""
        return not self.external and self._fact("member")


@dataclass(frozen=True)
class Decision:
    refusal: str | None = None  # what the person is told, when they may not

    @property
    def allowed(self) -> bool:
        return self.refusal is None


ALLOWED = Decision()


def may_set_severity(
    policy: Policy, case: CaseFacts, actor: Actor, requested: str | None = None
) -> Decision:
    """Responders always may. The requester (whichever organisation they belong to) may
    where the policy says so (`requester_may_set_severity`), to the levels it lists, until a
    responder has replied; anyone else, never. An unknown level is the change's to refuse."""
    if actor.responder:
        return ALLOWED
    allowed = policy.requester_severities
    if actor.user != case.requester_id or not allowed:
        return Decision(f"Only the support team can change the severity of {case.key}.")
    if case.first_response_at is not None:
        return Decision(
            f"{case.key} already has a responder, who now owns its severity: ask them in the "
            "thread to change it."
        )
    wanted = policy.severity(requested) if requested else None
    if wanted is not None and wanted not in allowed:
        names = _either(s.name for s in allowed)
        return Decision(
            f"As the requester of {case.key} you may set its severity to {names}; ask the "
            f"support team in the thread for {wanted.name}."
        )
    return ALLOWED


def may_work(case: CaseFacts, actor: Actor, verb: str) -> Decision:
    """Take, assign, wait, resume, work around, reopen, resolve, note: the support team's."""
    if actor.responder:
        return ALLOWED
    return Decision(f"Only the support team can {verb} {case.key}.")


def may_acknowledge(case: CaseFacts, actor: Actor) -> Decision:
    """A page is acknowledged by whoever it paged, or by the case's support team."""
    if actor.paged or actor.responder:
        return ALLOWED
    return Decision(
        f"You cannot acknowledge {case.key}: you were not paged for it and are not on its "
        "support team."
    )


def may_add_details(case: CaseFacts, actor: Actor) -> Decision:
    """The intake form's answers come from the case's requester (of whichever
    organisation) or the support team."""
    if actor.user == case.requester_id or actor.responder:
        return ALLOWED
    return Decision(f"Only the requester or the support team can add details to {case.key}.")


def may_set_overrides(actor: Actor) -> Decision:
    """Who covers an on-call schedule is for the support team of the policy that owns it."""
    if actor.responder:
        return ALLOWED
    return Decision("Only the support team can set on-call overrides.")


def sees_notes(actor: Actor) -> bool:
    """Internal notes are for the installing organisation's members only."""
    return actor.member


def thread_role(actor: Actor) -> Literal["responder", "requester"]:
    """How a message in a case's thread counts for its clocks: a responder's reply, or the
    requester's side (another organisation's user always is)."""
    return "responder" if actor.responder else "requester"


def _either(names: Iterable[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    found = list(names)
    return found[0] if len(found) == 1 else f"{', '.join(found[:-1])} or {found[-1]}"
