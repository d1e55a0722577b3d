"""Modals. The severity modal: pick one of the channel's open cases, a severity (each shown
with its description) and an optional reason."""

from __future__ import annotations

import json
from typing import Any

SEVERITY_MODAL = "severity_modal"
CASE_BLOCK, LEVEL_BLOCK, REASON_BLOCK = "case", "level", "reason"
PICK = "pick"

# (case number, label) and (severity id, name, description)
CaseOption = tuple[int, str]
LevelOption = tuple[str, str, str]


def _option(value: str, text: str, description: str = "") -> dict[str, Any]:
    option: dict[str, Any] = {
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "value": value[:75],
    }
    if description:
        option["description"] = {"type": "plain_text", "text": description[:75]}
    return option


def severity_modal(
    cases: list[CaseOption],
    levels: list[LevelOption],
    channel: str,
    level: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The view for views.open. `level` and `reason` prefill what the command already said."""
    case_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK,
        "placeholder": {"type": "plain_text", "text": "Which case?"},
        "options": [_option(str(n), label) for n, label in cases[:100]],
    }
    if len(cases) == 1:
        case_select["initial_option"] = case_select["options"][0]
    level_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK,
        "placeholder": {"type": "plain_text", "text": "Which severity?"},
        "options": [_option(i, name, desc) for i, name, desc in levels[:100]],
    }
    chosen = [o for o in level_select["options"] if o["value"] == level]
    if chosen:
        level_select["initial_option"] = chosen[0]
    reason_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": PICK,
        "max_length": 500,
    }
    if reason:
        reason_input["initial_value"] = reason[:500]
    return {
        "type": "modal",
        "callback_id": SEVERITY_MODAL,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Set severity"},
        "submit": {"type": "plain_text", "text": "Set"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": CASE_BLOCK,
                "label": {"type": "plain_text", "text": "Case"},
                "element": case_select,
            },
            {
                "type": "input",
                "block_id": LEVEL_BLOCK,
                "label": {"type": "plain_text", "text": "Severity"},
                "element": level_select,
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Why"},
                "element": reason_input,
            },
        ],
    }


def submitted(view: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The severity modal's values and, for a field left empty, its error for the modal."""
    state = (view.get("state") or {}).get("values") or {}

    def picked(block: str) -> str:
        field = (state.get(block) or {}).get(PICK) or {}
        option = field.get("selected_option") or {}
        value = option.get("value") if isinstance(option, dict) else None
        if value is None:
            value = field.get("value")
        return value if isinstance(value, str) else ""

    values = {block: picked(block).strip() for block in (CASE_BLOCK, LEVEL_BLOCK, REASON_BLOCK)}
    errors = {}
    if not values[CASE_BLOCK].isdigit():
        errors[CASE_BLOCK] = "Pick the case to change."
    if not values[LEVEL_BLOCK]:
        errors[LEVEL_BLOCK] = "Pick a severity."
    return values, errors


FEEDBACK_MODAL = "feedback_comment"
COMMENT_BLOCK = "comment"


def feedback_modal(case_key: str, number: int, channel: str) -> dict[str, Any]:
    """After a rating: an optional comment, in the requester's own words."""
    return {
        "type": "modal",
        "callback_id": FEEDBACK_MODAL,
        "private_metadata": json.dumps({"channel": channel, "case": number}),
        "title": {"type": "plain_text", "text": "Thanks for rating"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {
                "type": "input",
                "block_id": COMMENT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": f"Anything to add about {case_key}?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": PICK,
                    "multiline": True,
                    "max_length": 3000,
                },
            }
        ],
    }


def comment_of(view: dict[str, Any]) -> str:
    state = (view.get("state") or {}).get("values") or {}
    value = ((state.get(COMMENT_BLOCK) or {}).get(PICK) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""
