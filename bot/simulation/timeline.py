"""A dry run of one severity of a policy: every target's due time and reminders, the pages
of its escalation chain, and the stretches behind each due time, all from the running bot's
own arithmetic (bot.sla.clocks, bot.oncall.paging)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.oncall import chains
from bot.policies.durations import Duration, Reminder
from bot.policies.policy import Policy
from bot.policies.severities import TARGET_KINDS, Severity, TargetKind
from bot.simulation.inputs import SimulationError
from bot.simulation.stretches import Stretch, explain
from bot.sla import clocks
from bot.timekeeping.calendars import Calendar, Interval


@dataclass(frozen=True)
class ReminderAt:
    reminder: Reminder
    after: timedelta  # open time counted when it fires
    at: datetime


@dataclass(frozen=True)
class TargetTimeline:
    kind: TargetKind
    written: Duration  # as the policy file gives it
    open_time: timedelta  # what it means on the severity's calendar
    due: datetime
    stretches: tuple[Stretch, ...]
    reminders: tuple[ReminderAt, ...]

    @property
    def breach(self) -> datetime:
        """The bot's breach timer fires at the due instant itself."""
        return self.due


@dataclass(frozen=True)
class Simulation:
    policy: Policy
    severity: Severity
    calendar: Calendar
    opened: datetime
    pauses: tuple[Interval, ...]
    # When each step of the severity's escalation chain would page, and whom, if nobody
    # acknowledged: (instant, what it pages).
    pages: tuple[tuple[datetime, str], ...]
    targets: tuple[TargetTimeline, ...]


def simulate(
    policy: Policy, severity: str, opened: datetime, pauses: Sequence[Interval] = ()
) -> Simulation:
    """Every target of `severity` for a case opened at `opened`, each clock started then."""
    found = policy.severity(severity)
    if found is None:
        raise SimulationError(
            f"policy '{policy.id}' has no severity '{severity}': use one of "
            + ", ".join(_severity_names(s) for s in policy.ordered_severities)
        )
    if opened.tzinfo is None or opened.utcoffset() is None:
        raise SimulationError("the opening time needs a time zone")
    opened = opened.astimezone(UTC)
    pauses = tuple((a.astimezone(UTC), b.astimezone(UTC)) for a, b in pauses)
    for a, b in pauses:
        if b <= a:
            raise SimulationError(f"pause {a.isoformat()}/{b.isoformat()} ends before it starts")

    calendar = policy.calendar_for(found.id)
    timelines = []
    for kind in TARGET_KINDS:
        if kind == "update_every":
            continue  # its clock starts at each response, not at the opening
        written = getattr(found.targets, kind)
        open_time = policy.target(found.id, kind)
        if written is None or open_time is None:
            continue
        try:
            # The running bot's own arithmetic (bot.sla.clocks), for a clock started at the
            # opening.
            due, instants = clocks.schedule(policy, found.id, kind, opened, pauses)
        except (ValueError, OverflowError) as error:
            # a calendar closed for years, or a due time past the year 9999
            raise SimulationError(f"{kind} target cannot be reached: {error}") from None
        assert due is not None
        offsets = sorted(
            ((r.fires_after(open_time, calendar.day_length), r) for r in found.reminders),
            key=lambda pair: pair[0],
        )
        reminders = [
            ReminderAt(r, after, at) for (after, r), at in zip(offsets, instants, strict=True)
        ]
        timelines.append(
            TargetTimeline(
                kind=kind,
                written=written,
                open_time=open_time,
                due=due,
                stretches=explain(calendar, opened, due, pauses),
                reminders=tuple(reminders),
            )
        )
    return Simulation(
        policy=policy,
        severity=found,
        calendar=calendar,
        opened=opened,
        pauses=pauses,
        pages=_pages(policy, found, opened),
        targets=tuple(timelines),
    )


def _pages(
    policy: Policy, severity: Severity, opened: datetime
) -> tuple[tuple[datetime, str], ...]:
    chain = policy.chain_for(severity.id)
    if chain is None:
        return ()
    out = []
    for at, step, paged in chains.simulate(policy, chain, opened):
        where = "fallback" if step.level == 0 else f"level {step.level}, round {step.round}"
        reached = [
            f"{u} (on call in {paged.on_call_in[u]})" if u in paged.on_call_in else u
            for u in paged.users
        ]
        reached += [f"group {g}" for g in paged.groups]
        reached += [f"channel {c}" for c in paged.channels]
        reached += ["a webhook"] * len(paged.webhooks)
        text = f"chain {chain} {where}: {', '.join(reached) or 'nobody'}"
        if paged.nobody_on_call:
            text += f" (nobody on call in {', '.join(paged.nobody_on_call)})"
        out.append((at, text))
    return tuple(out)


def _severity_names(severity: Severity) -> str:
    return f"{severity.id} ({', '.join(severity.aliases)})" if severity.aliases else severity.id
