"""Block Kit for what the bot says. Rendered at delivery time from the case as it is then,
so a card that waited in the outbox never shows stale state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.cases.view import CaseView
from bot.db.states import CaseStatus
from bot.policies.policy import Policy

# The tests and the demo import these two from here.
from bot.slack.buttons import SET_SEVERITY_ACTION as SET_SEVERITY_ACTION
from bot.slack.buttons import case_buttons, details_button, rating_buttons, severity_buttons
from bot.slack.dates import first_response, slack_date, zone
from bot.words import readable as readable
from bot.words import span

# The timeline's actor for what the bot does by itself (timers).
SYSTEM_ACTOR = "escalation-bot"
STATUS_NAMES: dict[str, str] = {
    CaseStatus.OPEN: "open",
    CaseStatus.WAITING: "waiting on the requester",
    CaseStatus.RESOLVED: "resolved",
}


def case_card(
    case: CaseView, policy: Policy, now: datetime | None = None
) -> tuple[str, list[dict[str, Any]]]:
    sev = policy.severity(case.severity)
    sev_name = sev.name if sev else case.severity
    response = first_response(case, policy, now)
    text = f"{case.key} opened: severity {sev_name}, first response {response}"
    fields = [
        {"type": "mrkdwn", "text": f"*Requester*\n<@{case.requester_id}>"}
        if case.requester_id
        else {"type": "mrkdwn", "text": "*Requester*\nunknown"},
        {"type": "mrkdwn", "text": f"*Opened by*\n<@{case.opened_by}>"},
        {"type": "mrkdwn", "text": f"*Severity*\n{sev_name}"},
        {"type": "mrkdwn", "text": f"*First response*\n{response}"},
        {
            "type": "mrkdwn",
            "text": f"*Assigned to*\n<@{case.assignee_id}>"
            if case.assignee_id
            else "*Assigned to*\nnobody yet",
        },
        {"type": "mrkdwn", "text": f"*Status*\n{STATUS_NAMES.get(case.status, case.status)}"},
    ]
    if case.next_response_due is not None and case.status == CaseStatus.OPEN:
        tz = zone(policy, case.severity)
        fields.append(
            {
                "type": "mrkdwn",
                "text": f"*Next response*\ndue {slack_date(case.next_response_due, tz)}",
            }
        )
    if case.next_update_due is not None and case.status == CaseStatus.OPEN:
        tz = zone(policy, case.severity)
        fields.append(
            {"type": "mrkdwn", "text": f"*Next update*\ndue {slack_date(case.next_update_due, tz)}"}
        )
    buttons = severity_buttons(case, policy)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":ticket: *{case.key}* opened ({case.status})"},
        },
        {"type": "section", "fields": fields},
    ]
    if sev is not None and sev.description:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": sev.description[:2000]}]}
        )
    details = details_line(case, policy)
    if details:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": details}]})
    status_page = policy.status_page_for(sev.id) if sev is not None else None
    if status_page:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Status page: <{status_page}>"}],
            }
        )
    # Slack allows at most 25 elements in an actions block.
    blocks.append({"type": "actions", "block_id": "severity", "elements": buttons[:25]})
    if case.status != CaseStatus.RESOLVED:
        blocks.append({"type": "actions", "block_id": "case", "elements": case_buttons(case)})
    return text, blocks


def intake_ask(case: CaseView, policy: Policy) -> tuple[str, list[dict[str, Any]]]:
    """The policy's ask, posted once in a new case's thread, with the button that opens the
    details form when the intake has fields."""
    intake = policy.intake_for(case.severity) if policy.severity(case.severity) else None
    text = intake.ask if intake else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "intake", "text": {"type": "mrkdwn", "text": text[:3000]}}
    ]
    if intake and intake.fields:
        blocks.append(
            {
                "type": "actions",
                "block_id": "details",
                "elements": [details_button(case)],
            }
        )
    return text, blocks


def details_line(case: CaseView, policy: Policy) -> str | None:
    """The card's line on the intake form: which fields have an answer."""
    intake = policy.intake_for(case.severity) if policy.severity(case.severity) else None
    if intake is None or not intake.fields:
        return None
    marks = [f"{f.id} {'✓' if case.details.get(f.id) else '—'}" for f in intake.fields]
    return "Details: " + ", ".join(marks)


def triage_notice(case: CaseView) -> str:
    link = f"<{case.permalink}|{case.key}>" if case.permalink else case.key
    return f":ticket: {link} opened in <#{case.channel_id}> by <@{case.opened_by}>"


def severity_changed(case: CaseView, policy: Policy, data: dict[str, Any]) -> str:
    sev = policy.severity(str(data.get("new")))
    name = sev.name if sev else data.get("new")
    was = policy.severity(str(data.get("old")))
    change = f"<@{data.get('actor')}> set severity to *{name}*"
    if was is not None:
        change += f" (was {was.name})"
    if data.get("reason") and not case.shared:
        change += f": {data['reason']}"
    if case.first_response_at is not None:
        # Already answered: the change re-judges nothing.
        return f"{change}."
    due = (
        slack_date(case.first_response_due, zone(policy, case.severity))
        if case.first_response_due
        else "none"
    )
    return f"{change}. First response due {due}."


def dm_notice(data: dict[str, Any], bot_user_id: str | None) -> str:
    channel = data.get("source_channel")
    if data.get("notice") == "not_set_up":
        return (
            f"I could not open a case from your :ticket: in <#{channel}>: this workspace is not "
            "set up for escalations yet. Ask whoever runs the support desk to add it to a "
            "policy's `workspaces`."
        )
    if data.get("notice") == "no_policy":
        return (
            f"I could not open a case from your :ticket: in <#{channel}>: no escalation policy "
            "covers that channel. Ask whoever runs the support desk to add it to a policy."
        )
    bot = f"<@{bot_user_id}>" if bot_user_id else "the bot"
    return (
        f"I could not open a case from your :ticket: in <#{channel}>: I cannot read that "
        f"channel. Invite me with `/invite {bot}` in the channel, then react again."
    )


TARGET_NAMES = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
    "update_every": "update",
}


def sla_message(
    case: CaseView, policy: Policy, intent: str, data: dict[str, Any], linked: bool = False
) -> str:
    """A reminder names the target, its real due time and the time left, and whom it is
    for; a breach alert says how far past due the target is when the alert goes out. Both
    link to the case's thread when `linked` (outside the thread: a digest); an alert does
    anyway."""
    target = TARGET_NAMES.get(str(data.get("target")), str(data.get("target")))
    due = datetime.fromisoformat(str(data["due_at"]))
    at = datetime.fromisoformat(str(data.get("fired_at") or data["due_at"]))
    when = slack_date(due, zone(policy, case.severity))
    link = f"<{case.permalink}|{case.key}>" if case.permalink else case.key
    if intent in ("breach_alert", "breach_notice"):
        late = at - due
        overdue = f" It is {span(late)} overdue." if late >= timedelta(minutes=1) else ""
        text = f":rotating_light: {link} missed its {target} target (due {when}).{overdue}"
    else:
        name = link if linked else case.key
        text = f":hourglass_flowing_sand: {name}: {target} due {when}, in {span(due - at)}."
    # A severity's `on_breach` notice goes to whom the policy names: a DM, or a channel
    # with its user groups mentioned.
    who = (
        mentions((), data.get("groups") or ())
        if intent == "breach_notice"
        else whom(case, policy, data)
    )
    return f"{text} {who}" if who else text


def whom(case: CaseView, policy: Policy, data: dict[str, Any]) -> str:
    """Whom an SLA alert is for: the assignee; else the policy's responders; else whoever
    the severity's chain would page first when the alert fired."""
    if case.assignee_id:
        return f"<@{case.assignee_id}>"
    return mentions(policy.responders.users, policy.responders.groups) or mentions(
        data.get("on_call_users") or (), data.get("on_call_groups") or ()
    )


def mentions(users: Iterable[str], groups: Iterable[str]) -> str:
    return " ".join([f"<@{u}>" for u in users] + [f"<!subteam^{g}>" for g in groups])


def case_changed(case: CaseView, data: dict[str, Any]) -> str:
    """The one line a change leaves in the case thread: who, what, from what to what, why."""
    who = str(data.get("actor"))
    actor = "escalation-bot" if who == SYSTEM_ACTOR else f"<@{who}>"
    what = data.get("what")
    # In a channel shared with another organisation the note stays internal: it is in the
    # case's timeline and the private answer to whoever wrote it.
    note = f": {data['note']}" if data.get("note") and not case.shared else ""
    if what == "assigned":
        if data.get("new") == data.get("actor"):
            return f"{actor} took {case.key}."
        was = f" (was <@{data['old']}>)" if data.get("old") else ""
        return f"{actor} assigned {case.key} to <@{data.get('new')}>{was}."
    if what == "waiting":
        return f"{actor} set {case.key} waiting on the requester; its clocks are stopped{note}."
    if what == "resumed":
        return f"{actor} resumed {case.key}; its clocks run again."
    if what == "resolved":
        return f"{actor} resolved {case.key}{note}."
    if what == "reopened":
        return f"{actor} reopened {case.key}."
    return f"{actor} changed {case.key}: {what}{note}."


def resolution_summary(case: CaseView, policy: Policy, data: dict[str, Any]) -> str:
    opened = datetime.fromisoformat(str(data["opened_at"]))
    resolved = datetime.fromisoformat(str(data["resolved_at"]))
    tz = zone(policy, case.severity)
    due = datetime.fromisoformat(data["first_due"]) if data.get("first_due") else None
    met = datetime.fromisoformat(data["first_met"]) if data.get("first_met") else None
    if met is None:
        first = "none given" + (f", target was due {slack_date(due, tz)}" if due else "")
    elif due is None:
        first = f"after {span(met - opened)}"
    elif met < due:
        first = f"after {span(met - opened)}, met with {span(due - met)} to spare"
    else:
        first = f"after {span(met - opened)}, missed by {span(met - due)}"
    waited = timedelta(seconds=float(data.get("waited_seconds") or 0))
    breaches = int(data.get("breaches") or 0)
    return (
        f":white_check_mark: {case.key} resolved after {span(resolved - opened)}. "
        f"First response: {first}. Waiting on the requester: "
        f"{span(waited) if waited >= timedelta(minutes=1) else 'none'}. "
        f"Breaches: {breaches}."
    )


def feedback_blocks(case: CaseView, text: str) -> list[dict[str, Any]]:
    """The summary, then the requester is asked how it went (one rating per case)."""
    ask = f"<@{case.requester_id}>, how did we do?" if case.requester_id else "How did we do?"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ask}},
        {
            "type": "actions",
            "block_id": "feedback",
            "elements": rating_buttons(case),
        },
    ]
