"""One handler per timer kind, registered with `@handles`: the timers about a case get a
`Firing` (the case, its policy and the clock the timer was made for), those about no one
case (an on-call handoff, the weekly report) a `Caseless` firing. A handler returns None
when it acted, or the reason the timer is stale, and the caller drops it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from sqlalchemy.orm import Session

from bot.db.models import Case, Timer
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.sla import clocks


@dataclass(frozen=True)
class Setup:
    """What firing needs from the process's settings."""

    policies: PolicySet | None = None
    triage_channel: str | None = None
    report_channel: str | None = None
    report_by: Literal["policy", "channel"] = "policy"


@dataclass(frozen=True)
class Firing:
    session: Session
    case: Case
    timer: Timer
    policy: Policy
    now: datetime
    # The clock this timer was made for, as it stands now; None if the case has no such
    # clock any more.
    deadline: clocks.Deadline | None
    triage_channel: str | None


@dataclass(frozen=True)
class Caseless:
    session: Session
    timer: Timer
    now: datetime
    setup: Setup


class WithCase(Exception):
    """Raised by a handler registered `without_case` when this timer needs its case after
    all: it then fires as the timers about a case do, with the case read and locked."""


Handler = Callable[[Firing], str | None]
CaselessHandler = Callable[[Caseless], str | None]
HANDLERS: dict[str, Handler] = {}
CASELESS: dict[str, CaselessHandler] = {}
# Timers about a case that fire without reading or locking it (a page step: its page keeps
# what its messages say), so they fire while `cases` is locked.
WITHOUT_CASE: dict[str, CaselessHandler] = {}

H = TypeVar("H", Handler, CaselessHandler)


def handles(kind: str, *, caseless: bool = False, without_case: bool = False) -> Callable[[H], H]:
    """Register the handler of timers of `kind`; `caseless` for timers about no case,
    `without_case` for timers about a case that fire without it (tried first)."""

    def register(fn: H) -> H:
        if without_case:
            WITHOUT_CASE[kind] = fn  # type: ignore[assignment]
        elif caseless:
            CASELESS[kind] = fn  # type: ignore[assignment]
        else:
            HANDLERS[kind] = fn  # type: ignore[assignment]
        return fn

    return register
