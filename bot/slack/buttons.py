"""The buttons on the bot's messages, and the action ids their listeners (bot/slack/actions.py)
match: the card's severity and Take / Waiting on requester / Resume / Resolve buttons, the
ratings under a resolution summary, and the intake ask's Add details."""

from __future__ import annotations

from typing import Any

from bot.cases.view import CaseView
from bot.db.states import CaseStatus
from bot.policies.limits import (
    ACTION_ID_MAX,
    BUTTON_TEXT_MAX,
    BUTTON_VALUE_MAX,
    severity_action_id,
    severity_button_value,
    shorten,
)

# The prefix lives with the limits `policy check` computes from it.
from bot.policies.limits import SET_SEVERITY_ACTION as SET_SEVERITY_ACTION
from bot.policies.policy import Policy
from bot.slack.views import DETAILS_ACTION

FEEDBACK_ACTION = "feedback"
RATINGS = {"good": ":+1: Helpful", "bad": ":-1: Not helpful"}
CASE_ACTION = "case_action"


def severity_buttons(case: CaseView, policy: Policy) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for s in policy.ordered_severities:
        action_id, value = severity_action_id(s.id), severity_button_value(case.id, s.id)
        if len(action_id) > ACTION_ID_MAX or len(value) > BUTTON_VALUE_MAX:
            # `policy check` refuses such ids, but a case's policy snapshot from before may
            # hold one: Slack would refuse the whole card for this one button.
            continue
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": shorten(s.name, BUTTON_TEXT_MAX)},
            "value": value,
        }
        if s.id == case.severity:
            button["style"] = "primary"
        buttons.append(button)
    return buttons


def case_buttons(case: CaseView) -> list[dict[str, Any]]:
    """Take, wait or resume, resolve: each does what the `/case` command of that name does."""
    verbs = ["take", "resume" if case.status == CaseStatus.WAITING else "wait", "resolve"]
    labels = {
        "take": "Take",
        "wait": "Waiting on requester",
        "resume": "Resume",
        "resolve": "Resolve",
    }
    return [
        {
            "type": "button",
            "action_id": f"{CASE_ACTION}:{verb}",
            "text": {"type": "plain_text", "text": labels[verb]},
            "value": f"{case.number}:{verb}",
            **({"style": "primary"} if verb == "resolve" else {}),
        }
        for verb in verbs
    ]


def rating_buttons(case: CaseView) -> list[dict[str, Any]]:
    """One per rating: the requester's answer to how it went."""
    return [
        {
            "type": "button",
            "action_id": f"{FEEDBACK_ACTION}:{rating}",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": f"{case.number}:{rating}",
        }
        for rating, label in RATINGS.items()
    ]


def details_button(case: CaseView) -> dict[str, Any]:
    """Opens the case's intake form."""
    return {
        "type": "button",
        "action_id": DETAILS_ACTION,
        "text": {"type": "plain_text", "text": "Add details"},
        "value": str(case.number),
    }
