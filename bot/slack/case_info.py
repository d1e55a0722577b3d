"""`/case list` and `/case show`: what the channel's cases are, answered privately."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases import lifecycle, permissions
from bot.cases.permissions import Actor
from bot.cases.view import CaseView
from bot.db.models import Case
from bot.inbox import Effects
from bot.policies.policy import Policy
from bot.slack.dates import first_response
from bot.slack.verbs import Call, does, on_case, severity_name
from bot.words import readable


@does("/case", "list")
def list_cases(call: Call) -> Effects | None:
    everything = call.case_command.all
    with call.sessions() as session:
        cases = lifecycle.listed(session, call.team, call.channel, everything)
        if not cases:
            text = "No cases in this channel." if everything else "No open cases in this channel."
            return call.reply(text)
        lines = []
        for case in cases:
            policy = call.policy_for_case(session, case)
            lines.append(
                f"*{case.key}* {severity_name(policy, case.severity)}, {case.status}"
                + (f", assigned to <@{case.assignee_id}>" if case.assignee_id else "")
                + f": first response {first_response(CaseView.of(case), policy, call.clock.now())}"
            )
    return call.reply("\n".join(lines))


@on_case("show")
def show(call: Call, session: Session, case: Case, policy: Policy) -> Effects | None:
    link = f"<{case.permalink}|{case.key}>" if case.permalink else case.key
    lines = [
        f"*{link}*: {severity_name(policy, case.severity)}, {case.status}",
        f"Requester: <@{case.requester_id}>" if case.requester_id else "Requester: unknown",
        f"Assigned to: <@{case.assignee_id}>" if case.assignee_id else "Assigned to: nobody",
        f"First response: {first_response(CaseView.of(case), policy, call.clock.now())}",
    ]
    intake = policy.intake_for(case.severity) if policy.severity(case.severity) else None
    if intake and intake.fields:
        given = case.details or {}
        lines.append(
            "Details: " + "; ".join(f"{f.label}: {given.get(f.id) or '—'}" for f in intake.fields)
        )
    text = "\n".join(lines)
    kept = lifecycle.notes(session, [case.id]).get(case.id, [])
    session.close()  # Slack reads next, with no database connection held
    actor = Actor(call.user, member=lambda: call.directory().in_workspace(call.user, call.team))
    if kept and permissions.sees_notes(actor):
        text += "\n" + _notes_text(kept)
    return call.reply(text)


def _notes_text(kept: list[tuple[datetime, str, str]]) -> str:
    lines = [f"• <@{who}> {readable(at)}: {text}" for at, who, text in kept]
    return "Notes (your team only):\n" + "\n".join(lines)
