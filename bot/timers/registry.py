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


Handler = Callable[[Firing], str | None]
CaselessHandler = Callable[[Caseless], str | None]
HANDLERS: dict[str, Handler] = {}
CASELESS: dict[str, CaselessHandler] = {}

H = TypeVar("H", Handler, CaselessHandler)


def handles(kind: str, *, caseless: bool = False) -> Callable[[H], H]:
    """Register the handler of timers of `kind`; `caseless` for timers about no case."""

    def register(fn: H) -> H:
        if caseless:
            CASELESS[kind] = fn  # type: ignore[assignment]
        else:
            HANDLERS[kind] = fn  # type: ignore[assignment]
        return fn

    return register
