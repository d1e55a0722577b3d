"""The App Home tab: the viewer's assigned cases, their own requests, the team's cases at
risk (breached first, then the soonest due) and who is on call. Built from plain values;
published with views.publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.states import CaseStatus
from bot.slack.dates import slack_date

MAX_LINES = 15  # per section: a home view holds at most 100 blocks


@dataclass(frozen=True)
class HomeCase:
    key: str
    permalink: str | None
    channel: str
    severity: str
    status: str
    due: datetime | None  # the next response it owes, if any
    note: str | None = None  # the latest internal note, for the team's own sections


NOTE_SHOWN = 200  # characters of a note on the home tab


def _line(case: HomeCase, now: datetime) -> str:
    link = f"<{case.permalink}|{case.key}>" if case.permalink else f"*{case.key}*"
    if case.status == CaseStatus.RESOLVED:
        when = "resolved"
    elif case.due is None and case.status == CaseStatus.WAITING:
        when = "waiting on the requester"
    elif case.due is None:
        when = "no response due"
    elif case.due <= now:
        when = f":rotating_light: breached, was due {slack_date(case.due)}"
    else:
        when = f"due {slack_date(case.due)}"
    line = f"• {link} {case.severity} in <#{case.channel}>: {when}"
    if case.note:
        note = " ".join(case.note.split())
        cut = note[:NOTE_SHOWN] + ("…" if len(note) > NOTE_SHOWN else "")
        line += f"\n      _Note: {cut}_"
    return line


def _section(title: str, cases: list[HomeCase], empty: str, now: datetime) -> list[dict[str, Any]]:
    lines = [_line(c, now) for c in cases[:MAX_LINES]] or [empty]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
    ]


def home_view(
    now: datetime,
    responder: bool,
    assigned: list[HomeCase],
    requested: list[HomeCase],
    at_risk: list[HomeCase],
    on_call: list[str],
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if responder:
        blocks += _section("Assigned to you", assigned, "Nothing is assigned to you.", now)
        blocks += _section("At risk", at_risk, "No case owes a response.", now)
    if requested or not responder:
        blocks += _section("Your requests", requested, "You have not asked for help yet.", now)
    if on_call:
        blocks += [
            {"type": "header", "text": {"type": "plain_text", "text": "On call"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(on_call)[:3000]}},
        ]
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Updated {slack_date(now)}"}],
        }
    )
    return {"type": "home", "blocks": blocks}
