"""A period's figures per policy and severity, read from the database.

Which cases: those opened in [since, until). Each counts (opened, breaches, waiting,
feedback) under its severity at `as_of` (its current severity). Its first response is judged
as the bot's clocks judge it (`bot.cases.planning.current_deadlines`), at `as_of`, and counts
(met, missed, pending, no target, median, p90) under the severity whose target judged it: the
severity in force when it was answered, or when the case was resolved unanswered; for a clock
still running, the current one. A SEV1 answered late and lowered to SEV2 afterwards is a SEV1
miss, so a row may have first responses and no case opened under it.

- met: answered before its due time (a clock met before a severity change keeps the target
  it was met under);
- missed: answered at or after its due time, or unanswered and past it (resolved after
  its due time with no response included);
- neither: resolved before its due time with no response (resolving stops the clock, but
  is no response);
- pending: unanswered and not yet due;
- no target: the severity has no first-response target.

Time to first response is wall-clock time from opening to that answer, over every answered
case of the row; the median is the usual one (the mean of the two middle values for an even
count) and p90 is the nearest-rank percentile (the value at rank ceil(0.9 n)). Breaches are
the breach alerts the bot announced (fired breach timers, any target). Waiting is the time
the resolution clocks were paused on the requester, an open pause counted up to `as_of`.
Updates (a severity's `update_every` cadence) count under the case's current severity: met
when a responder wrote before the update was due, missed when it was due with none (or one
came late).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.planning import current_deadlines
from bot.db.models import Case, Feedback, PolicySnapshot, Timer
from bot.db.states import TimerKind, TimerStatus
from bot.policies.policy import Policy
from bot.sla import clocks


class FirstResponse(StrEnum):
    """How a case's first response stands, judged at the report's instant."""

    MET = "met"
    MISSED = "missed"
    PENDING = "pending"  # not answered yet, and not due yet
    NO_TARGET = "no_target"
    UNANSWERED = "unanswered"  # resolved before anyone answered, and before the target


# How rows are cut: per policy and severity, or per policy and channel (in Slack Connect,
# a channel is a customer).
By = Literal["policy", "channel"]
BY: tuple[By, ...] = ("policy", "channel")


@dataclass(frozen=True)
class Row:
    policy: str
    severity: str
    opened: int
    first_met: int
    first_missed: int
    first_pending: int
    first_no_target: int
    first_median: float | None  # seconds
    first_p90: float | None  # seconds
    breaches: int
    waiting: float  # seconds
    feedback: int
    feedback_good: int
    feedback_bad: int
    channel: str = ""  # the row's channel when the report is cut by channel
    # The update cadence (`targets.update_every`): updates given in time, and those missed.
    update_met: int = 0
    update_missed: int = 0

    @property
    def attainment(self) -> float | None:
        """Met as a share of the first responses judged (met + missed), in percent."""
        judged = self.first_met + self.first_missed
        return 100 * self.first_met / judged if judged else None


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    as_of: datetime
    policy: str | None
    rows: tuple[Row, ...]
    by: By = "policy"


@dataclass(frozen=True)
class _CaseFigures:
    policy: str
    channel: str
    severity: str
    rank: int
    first_severity: str  # the severity whose first-response target judged `first`
    first_rank: int
    first: FirstResponse
    first_seconds: float | None
    breaches: int
    waiting: float
    rating: str | None
    update_met: int
    update_missed: int


class UnknownPolicy(ValueError):
    """No case ever opened under the policy asked for."""


def report(
    session: Session,
    since: datetime,
    until: datetime,
    as_of: datetime,
    policy: str | None = None,
    by: By = "policy",
) -> Report:
    """The figures of the cases opened in [since, until), as they stand at `as_of`: a row
    per policy and severity, or with `by="channel"` per policy and channel."""
    if policy is not None and not _known_policy(session, policy):
        known = ", ".join(policy_ids(session)) or "none yet"
        raise UnknownPolicy(f"no case was ever opened under policy '{policy}' (known: {known})")
    query = select(Case).where(Case.opened_at >= since, Case.opened_at < until)
    if policy is not None:
        query = query.where(Case.policy_id == policy)
    cases = list(session.execute(query.order_by(Case.id)).scalars())
    ids = [case.id for case in cases]
    breaches = _breaches(session, ids)
    ratings = _ratings(session, ids)
    snapshots: dict[str, Policy] = {}
    figures = []
    for case in cases:
        snap = snapshots.get(case.policy_hash)
        if snap is None:
            snap = snapshots[case.policy_hash] = _snapshot(session, case.policy_hash)
        figures.append(
            _case(session, snap, case, as_of, breaches.get(case.id, 0), ratings.get(case.id))
        )
    rows = _by_channel(figures) if by == "channel" else _rows(figures)
    return Report(since, until, as_of, policy, rows, by)


def policy_ids(session: Session) -> list[str]:
    """Every policy a case was ever opened under."""
    found = session.execute(select(PolicySnapshot.policy_id).distinct()).scalars()
    return sorted(found)


def _known_policy(session: Session, policy: str) -> bool:
    query = select(func.count()).select_from(PolicySnapshot)
    return bool(session.execute(query.where(PolicySnapshot.policy_id == policy)).scalar_one())


def _snapshot(session: Session, content_hash: str) -> Policy:
    snap = session.get(PolicySnapshot, content_hash)
    if snap is None:
        raise LookupError(f"policy snapshot {content_hash} is missing")
    return Policy.from_snapshot(snap.content)


def _breaches(session: Session, ids: Sequence[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Timer.case_id, func.count())
            .where(
                Timer.case_id.in_(chunk),
                Timer.kind == TimerKind.BREACH,
                Timer.status == TimerStatus.FIRED,
            )
            .group_by(Timer.case_id)
        ).all()
        counts.update({case_id: int(n) for case_id, n in rows if case_id is not None})
    return counts


def _ratings(session: Session, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Feedback.case_id, Feedback.rating).where(Feedback.case_id.in_(chunk))
        ).all()
        found.update({int(case_id): rating for case_id, rating in rows})
    return found


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    # Bounded IN lists: SQLite caps the number of bound parameters.
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _case(
    session: Session, policy: Policy, case: Case, as_of: datetime, breaches: int, rating: str | None
) -> _CaseFigures:
    # A case opened after `as_of` (a clock set back) has had no time to run yet.
    found = current_deadlines(session, policy, case, max(as_of, case.opened_at))
    first = next(d for d in found if d.kind == "first_response")
    waiting = sum(
        (b - a).total_seconds() for d in found if d.kind == "resolution" for a, b in d.pauses
    )
    cadence = [d for d in found if d.kind == "update_every" and d.due_at is not None]
    levels = [s.id for s in policy.ordered_severities]

    def rank(severity: str) -> int:
        return levels.index(severity) if severity in levels else len(levels)

    return _CaseFigures(
        policy=case.policy_id,
        channel=case.channel_id,
        severity=case.severity,
        rank=rank(case.severity),
        first_severity=first.severity,
        first_rank=rank(first.severity),
        first=_judge(first, case, as_of),
        first_seconds=(
            (case.first_response_at - first.started_at).total_seconds()
            if case.first_response_at and first.met_at
            else None
        ),
        breaches=breaches,
        waiting=waiting,
        rating=rating,
        update_met=sum(
            1
            for d in cadence
            if d.met_at and d.due_at and d.met_at < d.due_at and not d.by_resolution
        ),
        update_missed=sum(1 for d in cadence if clocks.breached(d, as_of)),
    )


def _judge(first: clocks.Deadline, case: Case, as_of: datetime) -> FirstResponse:
    if first.due_at is None:
        return FirstResponse.NO_TARGET
    if clocks.breached(first, as_of):
        return FirstResponse.MISSED
    if first.met_at is None:
        return FirstResponse.PENDING
    # Met by a response, or stopped by resolving before anyone answered: no response is no
    # response, counted neither met nor missed.
    return FirstResponse.MET if case.first_response_at is not None else FirstResponse.UNANSWERED


def _rows(figures: list[_CaseFigures]) -> tuple[Row, ...]:
    cases: dict[tuple[str, str], list[_CaseFigures]] = {}
    answers: dict[tuple[str, str], list[_CaseFigures]] = {}
    ranks: dict[tuple[str, str], int] = {}
    for f in figures:
        for groups, key, rank in (
            (cases, (f.policy, f.severity), f.rank),
            (answers, (f.policy, f.first_severity), f.first_rank),
        ):
            groups.setdefault(key, []).append(f)
            ranks[key] = min(ranks.get(key, rank), rank)
    ordered = sorted(ranks, key=lambda key: (key[0], ranks[key], key[1]))
    return tuple(_row(key, cases.get(key, []), answers.get(key, [])) for key in ordered)


def _by_channel(figures: list[_CaseFigures]) -> tuple[Row, ...]:
    """A row per policy and channel: every case of the channel, whatever its severity."""
    groups: dict[tuple[str, str], list[_CaseFigures]] = {}
    for f in figures:
        groups.setdefault((f.policy, f.channel), []).append(f)
    return tuple(
        replace(_row((key[0], ""), groups[key], groups[key]), channel=key[1])
        for key in sorted(groups)
    )


def _row(key: tuple[str, str], cases: list[_CaseFigures], answers: list[_CaseFigures]) -> Row:
    """`cases` count under their current severity, `answers` under their target's."""
    judged = Counter(c.first for c in answers)
    times = [c.first_seconds for c in answers if c.first_seconds is not None]
    ratings = Counter(c.rating for c in cases if c.rating is not None)
    return Row(
        policy=key[0],
        severity=key[1],
        opened=len(cases),
        first_met=judged[FirstResponse.MET],
        first_missed=judged[FirstResponse.MISSED],
        first_pending=judged[FirstResponse.PENDING],
        first_no_target=judged[FirstResponse.NO_TARGET],
        first_median=statistics.median(times) if times else None,
        first_p90=nearest_rank(times, 90),
        breaches=sum(c.breaches for c in cases),
        waiting=sum(c.waiting for c in cases),
        feedback=sum(ratings.values()),
        feedback_good=ratings["good"],
        feedback_bad=ratings["bad"],
        update_met=sum(c.update_met for c in cases),
        update_missed=sum(c.update_missed for c in cases),
    )


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The smallest value with at least `percent`% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)  # ceil(percent/100 * n) in whole numbers
    return ordered[max(rank, 1) - 1]
