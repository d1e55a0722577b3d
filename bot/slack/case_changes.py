"""The `/case` and `/severity` verbs that change a case: each runs in the transaction that
changes it, once bot/cases/permissions.py has allowed it, and returns the person's answer."""

from __future__ import annotations

from bot.cases import lifecycle, permissions, service
from bot.cases.commands import SEVERITY_USAGE
from bot.cases.permissions import Decision
from bot.db.states import CaseStatus
from bot.inbox import Effects
from bot.oncall import acks
from bot.slack.verbs import Call, Changing, change, changes, does, severity_name


@does("/severity", "severity")
def severity(call: Call) -> Effects | None:
    command = call.case_command
    if command.number is None:
        with call.sessions() as session:
            choices = lifecycle.unresolved_in_channel(session, call.team, call.channel)
        if command.level is None or len(choices) > 1:
            if not choices:
                return call.reply("No open case in this channel.")
            if not call.row.payload.get("trigger_id"):
                return call.reply(SEVERITY_USAGE)
            return None  # the listener opened the modal (bot/slack/modals.py)
    return change(call, _may_set_severity, _set_severity)


def _may_set_severity(c: Changing) -> Decision:
    return permissions.may_set_severity(c.policy, c.case, c.actor, c.command.level or None)


def _set_severity(c: Changing) -> str:
    case, policy = c.case, c.policy
    level = c.command.level or ""
    changed = service.set_severity(
        c.session, c.clock, policy, case, level, c.user, c.source, c.command.note
    )
    if not changed:
        return f"{case.key} is already {severity_name(policy, case.severity)}."
    return f"{case.key} is now {severity_name(policy, case.severity)}."


@changes("note")
def note(c: Changing) -> str:
    lifecycle.add_note(c.session, c.clock, c.case, c.user, c.command.note, c.source)
    return f"Noted on {c.case.key}, for your team only: it shows in `/case show {c.case.key}`."


@changes("take")
def take(c: Changing) -> str:
    case = c.case
    if case.status != CaseStatus.RESOLVED and case.assignee_id is None:
        # Taking a paged case answers its page: the climb stops, as an ack would.
        done = acks.acknowledge(c.session, case, c.user, c.clock.now(), c.source)
        if done.outcome == "acknowledged":
            return f"You have {case.key}; its page is acknowledged: paging has stopped."
    changed = lifecycle.assign(c.session, c.clock, case, c.user, c.user, c.source)
    return f"You have {case.key}." if changed else f"You already have {case.key}."


@changes("assign")
def assign(c: Changing) -> str:
    assignee = c.command.user or ""
    changed = lifecycle.assign(c.session, c.clock, c.case, c.user, assignee, c.source)
    who = f"<@{assignee}>"
    return f"{c.case.key} is assigned to {who}." if changed else f"{who} already has it."


@changes("wait")
def wait(c: Changing) -> str:
    case, note = c.case, c.command.note
    asks = bool(note) and not case.shared
    if asks and case.status != CaseStatus.WAITING and case.first_response_at is None:
        # The thread line asks the requester on the responder's behalf: an answer, so it
        # is the first response. A bare wait only stops the clocks, and in a shared channel
        # the note stays internal, so the requester is asked nothing.
        service.record_message(
            c.session, c.clock, c.policy, case, c.user, "responder", "", c.source
        )
    if lifecycle.wait(c.session, c.clock, c.policy, case, c.user, note, c.source):
        return f"{case.key} is waiting on the requester; its clocks are stopped."
    return f"{case.key} is already waiting on the requester."


@changes("resume")
def resume(c: Changing) -> str:
    if lifecycle.resume(c.session, c.clock, c.policy, c.case, c.user, c.source):
        return f"{c.case.key} is open again; its clocks run."
    return f"{c.case.key} is not waiting on the requester."


@changes("workaround")
def workaround(c: Changing) -> str:
    lowered = lifecycle.workaround(
        c.session, c.clock, c.policy, c.case, c.user, c.command.note, c.source
    )
    return f"{c.case.key} is now {severity_name(c.policy, lowered)} (workaround)."


@changes("reopen")
def reopen(c: Changing) -> str:
    if lifecycle.reopen(c.session, c.clock, c.policy, c.case, c.user, c.source):
        return f"{c.case.key} is open again."
    return f"{c.case.key} is not resolved."


@changes("resolve")
def resolve(c: Changing) -> str:
    if lifecycle.resolve(c.session, c.clock, c.policy, c.case, c.user, c.command.note, c.source):
        return f"{c.case.key} is resolved."
    return f"{c.case.key} is already resolved."
