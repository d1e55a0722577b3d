"""What the bot says when it pages: the direct message with its Acknowledge button, the post
in the chain's channel, the warning when a schedule has nobody on call, the announcement of
an acknowledgement, the end of a climb, and the JSON a page webhook receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.cases.view import CaseView
from bot.outbox import Intent
from bot.outbox.payloads import PageContent, PagedCase
from bot.slack.intents import ApiCall, Outgoing, renders
from bot.slack.render import slack_date

PAGE_ACK_ACTION = "page_ack"
# Not a Web API method: a signed JSON POST to the "url" it names (bot.slack.delivery).
WEBHOOK = "webhook"

# Messages that keep their order per destination only, not per case (bot.slack.delivery):
# a pager that is down or a person's rate-limited direct messages never hold back the pages
# meant to cover for them.
PER_DESTINATION = frozenset(
    {
        Intent.PAGE_DM,
        Intent.PAGE_POST,
        Intent.PAGE_WARNING,
        Intent.PAGE_STOPPED,
        Intent.PAGE_CLOSED,
        Intent.PAGE_WEBHOOK,
        Intent.HANDOFF_DM,
    }
)


# A page step's messages: they carry the facts of their case (`about` in their data), so
# delivery renders them without reading `cases`.
STEP_MESSAGES = frozenset(
    {Intent.PAGE_DM, Intent.PAGE_POST, Intent.PAGE_WARNING, Intent.PAGE_WEBHOOK}
)


def _named(o: Outgoing) -> PagedCase:
    """The case as the row names it (a page step writes it there, never reading `cases`),
    or, for a row of an earlier release, as the case is now."""
    about = o.body(PageContent).about
    if about is not None:
        return about
    case, policy = o.need_case()
    return PagedCase(
        number=case.number,
        team=case.team_id,
        channel=case.channel_id,
        policy=policy.id,
        permalink=case.permalink,
        requester=case.requester_id,
    )


def _link(case: PagedCase | CaseView) -> str:
    return f"<{case.permalink}|{case.key}>" if case.permalink else f"*{case.key}*"


def _where(o: Outgoing) -> str:
    level = o.data.get("level") or 0
    if level == 0:
        return "the fallback of the escalation chain"
    return f"level {level} of the escalation chain, round {o.data.get('round', 1)}"


def _ack_button(case: PagedCase, page: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": PAGE_ACK_ACTION,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "value": f"{case.number}:{page}",
            }
        ],
    }


def _how_to_ack(o: Outgoing, case: PagedCase) -> str:
    emoji = o.data.get("ack_emoji") or "eyes"
    return f"Acknowledge with the button, `/case ack {case.key}` or a :{emoji}: on this message."


def _page_blocks(text: str, case: PagedCase, o: Outgoing) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _how_to_ack(o, case)}],
        },
        _ack_button(case, int(o.data["page"])),
    ]


def _summary_lines(o: Outgoing, case: PagedCase) -> str:
    requester = f"<@{case.requester}>" if case.requester else "unknown"
    summary = str(o.data.get("summary") or "").strip()
    quoted = f"\n> {summary}" if summary else ""
    status = f"\nStatus page: <{o.data['status_page']}>" if o.data.get("status_page") else ""
    return f"Requester: {requester}, in <#{case.channel}>{status}{quoted}"


def _why(o: Outgoing) -> str:
    """A page a miss started says so."""
    missed = o.data.get("breach")
    if not missed:
        return ""
    return f": it missed its {str(missed).replace('_', ' ')} target"


@renders(Intent.PAGE_DM)
def page_dm(o: Outgoing) -> ApiCall:
    case = _named(o)
    text = (
        f":rotating_light: You are paged for {_link(case)} ({o.data['severity_name']}), "
        f"{_where(o)}{_why(o)}.\n{_summary_lines(o, case)}"
    )
    return "chat.postMessage", {
        "channel": o.channel_id,
        "text": text,
        "blocks": _page_blocks(text, case, o),
        "unfurl_links": False,
    }


@renders(Intent.PAGE_POST)
def page_post(o: Outgoing) -> ApiCall:
    case = _named(o)
    mentions = [f"<@{u}>" for u in o.data.get("users") or []]
    mentions += [f"<!subteam^{g}>" for g in o.data.get("groups") or []]
    who = " ".join(mentions) + " paged" if mentions else "Paging"
    text = (
        f":rotating_light: {who} for {_link(case)} ({o.data['severity_name']}), "
        f"{_where(o)}{_why(o)}.\n{_summary_lines(o, case)}"
    )
    return "chat.postMessage", {
        "channel": o.channel_id,
        "text": text,
        "blocks": _page_blocks(text, case, o),
        "unfurl_links": False,
    }


def _target_words(targets: list[str]) -> str:
    words = []
    for target in targets:
        kind, _, value = target.partition(":")
        words.append(
            {
                "user": f"<@{value}>",
                "group": f"<!subteam^{value}>",
                "channel": f"<#{value}>",
                "schedule": f"whoever is on call in `{value}`",
                "webhook": "the webhook",
            }.get(kind, value)
        )
    return ", ".join(words)


@renders(Intent.PAGE_WARNING)
def page_warning(o: Outgoing) -> ApiCall:
    case = _named(o)
    schedules = ", ".join(f"`{s}`" for s in o.data.get("schedules") or [])
    fallback = list(o.data.get("fallback") or [])
    then = (
        f"paging the fallback: {_target_words(fallback)}."
        if fallback
        else "this chain has no fallback, so nobody else was paged for this level."
    )
    text = f":warning: Nobody is on call in {schedules} for {_link(case)}: {then}"
    return "chat.postMessage", {"channel": o.channel_id, "text": text, "unfurl_links": False}


@renders(Intent.PAGE_ACKNOWLEDGED)
def page_acknowledged(o: Outgoing) -> ApiCall:
    case, _ = o.need_case()
    at = datetime.fromisoformat(str(o.data["at"]))
    what = "the page and took" if o.data.get("took") else "the page for"
    text = (
        f":eyes: <@{o.data['user']}> acknowledged {what} {_link(case)} "
        f"{slack_date(at)}; paging has stopped."
    )
    args: dict[str, Any] = {"channel": o.channel_id, "text": text, "unfurl_links": False}
    if o.data.get("thread_ts"):
        args["thread_ts"] = o.data["thread_ts"]
    return "chat.postMessage", args


@renders(Intent.PAGE_CLOSED)
def page_closed(o: Outgoing) -> ApiCall:
    """A page out in Slack, once the page is over: its button goes, and it says why."""
    case, _ = o.need_case()
    if o.data.get("user"):
        at = datetime.fromisoformat(str(o.data["at"]))
        text = (
            f":white_check_mark: The page for {_link(case)} ({o.data.get('severity_name')}) "
            f"was acknowledged by <@{o.data['user']}> {slack_date(at)}."
        )
    else:
        text = f"Paging for {_link(case)} has stopped: {o.data.get('why')}."
    return "chat.update", {
        "channel": o.channel_id,
        "ts": o.data["ts"],
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


@renders(Intent.PAGE_STOPPED)
def page_stopped(o: Outgoing) -> ApiCall:
    case, _ = o.need_case()
    text = f"Paging for {_link(case)} has stopped: {o.data.get('why')}."
    return "chat.postMessage", {"channel": o.channel_id, "text": text, "unfurl_links": False}


@renders(Intent.PAGE_WEBHOOK)
def page_webhook(o: Outgoing) -> ApiCall:
    """The body as it was when the step paged, so a retry under the same delivery id
    carries the same content."""
    case = _named(o)
    body = {
        "type": "page",
        "case": case.key,
        "team_id": case.team,
        "channel_id": case.channel,
        "permalink": case.permalink,
        "requester_id": case.requester,
        "policy": case.policy,
        "severity": o.data.get("severity"),
        "severity_name": o.data.get("severity_name"),
        "summary": o.data.get("summary"),
        "page": o.data.get("page"),
        "step": o.data.get("step"),
        "round": o.data.get("round"),
        "level": o.data.get("level"),
        "users": o.data.get("users") or [],
        "groups": o.data.get("groups") or [],
    }
    return WEBHOOK, {"url": o.data["url"], "body": body}


@renders(Intent.HANDOFF_DM)
def handoff_dm(o: Outgoing) -> ApiCall:
    at = datetime.fromisoformat(str(o.data["at"]))
    previous = o.data.get("previous")
    after = f", after <@{previous}>" if previous else ""
    lines = [f"You are on call for *{o.data['schedule']}* from {slack_date(at)}{after}."]
    cases = list(o.data.get("cases") or [])
    if not cases:
        lines.append("No case is open.")
    else:
        lines.append(f"Open cases ({len(cases)}):")
    for case in cases:
        key = f"<{case['permalink']}|{case['case']}>" if case.get("permalink") else case["case"]
        due = case.get("due") or case.get("next_due")
        when = (
            f"{'first' if case.get('due') else 'next'} response due "
            f"{slack_date(datetime.fromisoformat(due))}"
            if due
            else "no response due"
        )
        status = ", waiting on the requester" if case.get("status") == "waiting" else ""
        lines.append(f"• {key} {case['severity']} in <#{case['channel']}>{status}: {when}")
    return "chat.postMessage", {
        "channel": o.channel_id,
        "text": "\n".join(lines),
        "unfurl_links": False,
    }
