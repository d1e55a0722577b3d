"""The `/oncall` verbs: who is on call, a schedule's week, and an override of it (which
bot/cases/permissions.py leaves to the support team of the policy that owns the schedule)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.cases import permissions
from bot.cases.permissions import Actor
from bot.inbox import Effects
from bot.oncall import chains, overrides
from bot.oncall import text as oncall_text
from bot.oncall.commands import OncallCommand
from bot.policies.oncall import ScheduleSpec
from bot.slack.verbs import Call, does
from bot.words import readable


def _command(call: Call) -> OncallCommand:
    assert isinstance(call.command, OncallCommand)
    return call.command


def _schedule(call: Call, specs: dict[str, ScheduleSpec]) -> tuple[str | None, str]:
    """The schedule the command names, or the only one; else what to answer."""
    name = _command(call).schedule
    if name is None and len(specs) == 1:
        name = next(iter(specs))
    if name is None or name not in specs:
        known = ", ".join(f"`{n}`" for n in sorted(specs))
        asked = f"No schedule `{name}`" if name else "Which schedule?"
        return None, f"{asked}: the schedules are {known}."
    return name, ""


_NO_SCHEDULES = "No policy of this workspace has an on-call schedule."


@does("/oncall", "who")
def who(call: Call) -> Effects | None:
    now, specs = call.clock.now(), call.policies.schedules(call.team)
    if not specs:
        return call.reply(_NO_SCHEDULES)
    with call.sessions() as session:
        lines = [
            oncall_text.now_and_next(chains.schedule(session, n, specs[n], now, call.team), now)
            for n in sorted(specs)
        ]
    return call.reply("\n".join(lines))


@does("/oncall", "week")
def week(call: Call) -> Effects | None:
    now, specs = call.clock.now(), call.policies.schedules(call.team)
    if not specs:
        return call.reply(_NO_SCHEDULES)
    name, problem = _schedule(call, specs)
    if name is None:
        return call.reply(problem)
    with call.sessions() as session:
        text = oncall_text.week(chains.schedule(session, name, specs[name], now, call.team), now)
    return call.reply(text)


@does("/oncall", "override")
def override(call: Call) -> Effects | None:
    now, specs = call.clock.now(), call.policies.schedules(call.team)
    if not specs:
        return call.reply(_NO_SCHEDULES)
    name, problem = _schedule(call, specs)
    if name is None:
        return call.reply(problem)
    owner = call.policies.owner_of_schedule(name)
    decision = permissions.may_set_overrides(Actor(call.user, on_team=call.on_team(owner, None)))
    if decision.refusal is not None:
        return call.reply(decision.refusal)
    command, built = _command(call), specs[name].build(name)
    assert command.start is not None and command.end is not None and command.user
    start, end = built.instant(command.start), built.instant(command.end)
    if end <= now:
        return call.reply("That override has already ended: give a time to come.")
    covering, user = command.user, call.user

    def store(session: Session) -> None:
        overrides.add(session, call.team, name, specs[name], covering, start, end, user, now)
        text = (
            f"<@{covering}> covers *{name}* from "
            f"{readable(start, built.tz)} to {readable(end, built.tz)}."
        )
        call.enqueue_reply(session, text)

    return store
