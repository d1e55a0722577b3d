"""Escalation chains: the steps a chain takes (level by level, `repeat` more rounds, then
the fallback) and whom each step reaches at an instant, through the on-call schedules with
the overrides stored at run time. Paging a case walks these (paging.py); `policy simulate`
walks them from the policy file alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import OncallOverride, Page
from bot.policies.oncall import EscalationSpec, ScheduleSpec, target_parts
from bot.policies.policy import Policy
from bot.timekeeping.rotations import Schedule


@dataclass(frozen=True)
class Step:
    index: int
    round: int  # 1-based
    level: int  # 1-based; 0 for the fallback
    targets: tuple[str, ...]
    wait: Any  # timedelta until the next step, None after the last


@dataclass
class Paged:
    """Who one step reaches."""

    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    nobody_on_call: list[str] = field(default_factory=list)
    fallback: bool = False
    # user -> the schedule that put them on call
    on_call_in: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> None:
        bucket = {
            "user": self.users,
            "group": self.groups,
            "channel": self.channels,
            "webhook": self.webhooks,
        }[kind]
        if value not in bucket:
            bucket.append(value)


def plan_of(policy: Policy, chain: str) -> dict[str, Any]:
    """The chain and the schedules it names, as JSON, to freeze onto a page."""
    assert policy.oncall is not None
    content = policy.oncall.model_dump(mode="json", by_alias=True)
    spec = policy.oncall.escalations[chain]
    named = {
        value
        for target in (*[t for lv in spec.levels for t in lv.notify], *spec.fallback)
        for kind, value in [target_parts(target)]
        if kind == "schedule"
    }
    return {
        "chain": content["escalations"][chain],
        "schedules": {name: content["schedules"][name] for name in sorted(named)},
        "ack_emoji": policy.oncall.ack_emoji,
    }


def chain_of(page: Page) -> EscalationSpec:
    return EscalationSpec.model_validate(page.plan["chain"])


def steps(chain: EscalationSpec) -> list[Step]:
    out: list[Step] = []
    for r in range(chain.repeat + 1):
        for i, level in enumerate(chain.levels):
            out.append(Step(len(out), r + 1, i + 1, level.notify, level.wait))
    if chain.fallback:
        out.append(Step(len(out), chain.repeat + 1, 0, chain.fallback, None))
    last = out[-1]
    out[-1] = Step(last.index, last.round, last.level, last.targets, None)
    return out


def schedule(
    session: Session, name: str, spec: ScheduleSpec, now: datetime, team_id: str = ""
) -> Schedule:
    """The schedule as workspace `team_id` sees it: with the overrides set there (and those
    set before overrides had a workspace) that have not ended."""
    rows = session.execute(
        select(OncallOverride.user_id, OncallOverride.starts_at, OncallOverride.ends_at)
        .where(
            OncallOverride.schedule == name,
            OncallOverride.team_id.in_({team_id, ""}),
            OncallOverride.ends_at > now,
        )
        .order_by(OncallOverride.id)
    ).all()
    return spec.build(name, [(u, s, e) for u, s, e in rows])


def resolve(
    chain: EscalationSpec, step: Step, now: datetime, schedule_for: Callable[[str], Schedule]
) -> Paged:
    """Who one step reaches at `now`: a schedule pages whoever is on call, and the chain's
    fallback when nobody is."""
    paged = Paged(fallback=step.level == 0)
    _expand(step.targets, now, schedule_for, paged)
    if paged.nobody_on_call and not paged.fallback:
        paged.fallback = bool(chain.fallback)
        _expand(chain.fallback, now, schedule_for, paged)
    return paged


def first_paged(
    session: Session, policy: Policy, severity: str, now: datetime, team_id: str = ""
) -> Paged | None:
    """Whom the severity's chain would page first at `now` in workspace `team_id` (its
    level 1, or its fallback when nobody is on call), or None when the severity pages no
    chain."""
    chain = policy.chain_for(severity)
    if chain is None or policy.oncall is None:
        return None
    spec = policy.oncall.escalations[chain]
    specs = policy.oncall.schedules
    first = steps(spec)[0]
    return resolve(
        spec, first, now, lambda name: schedule(session, name, specs[name], now, team_id)
    )


def _expand(
    targets: Iterable[str], now: datetime, schedule_for: Callable[[str], Schedule], paged: Paged
) -> None:
    for target in targets:
        kind, value = target_parts(target)
        if kind != "schedule":
            paged.add(kind, value)
            continue
        who = schedule_for(value).on_call(now)
        if who is None:
            if value not in paged.nobody_on_call:
                paged.nobody_on_call.append(value)
        else:
            paged.add("user", who)
            paged.on_call_in.setdefault(who, value)


def simulate(policy: Policy, chain: str, opened: datetime) -> list[tuple[datetime, Step, Paged]]:
    """Every step a page would take if nobody acknowledged, with whom it would reach, from
    the policy file alone (overrides stored at run time are not known here)."""
    assert policy.oncall is not None
    spec = policy.oncall.escalations[chain]
    built = {name: s.build(name) for name, s in policy.oncall.schedules.items()}
    out: list[tuple[datetime, Step, Paged]] = []
    at = opened
    for step in steps(spec):
        out.append((at, step, resolve(spec, step, at, built.__getitem__)))
        if step.wait is not None:
            at = at + step.wait
    return out
