"""Modals. The severity modal: pick one of the channel's open cases, a severity (each shown
with its description) and an optional reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bot.policies.limits import OPTION_TEXT_MAX, OPTION_VALUE_MAX, shorten

SEVERITY_MODAL = "severity_modal"
CASE_BLOCK, LEVEL_BLOCK, REASON_BLOCK = "case", "level", "reason"
PICK = "pick"

# (case number, label) and (severity id, name, description)
CaseOption = tuple[int, str]
LevelOption = tuple[str, str, str]
# A person's name from their Slack user id, or None when it is not known.
Names = Callable[[str], str | None]

SOMEONE = "@someone"
_MARKUP = re.compile(r"<([^<>]*)>")
# The start of markup or of an escape that an earlier cut (`text[:40]`) left unfinished.
_CUT_SHORT = re.compile(r"(?:<(?:[@#!]|https?:|mailto:)[^<>]*|&(?:a|am|amp|l|lt|g|gt)?)$")
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def plain_text(text: str, names: Names | None = None) -> str:
    """Slack message text as a plain_text field shows it: plain text renders no markup, so
    a mention is the person's name (`names`), else a neutral word; channels, user groups,
    dates and links are their labels; Slack's escapes are undone."""

    def shown(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            name = (names(target[1:]) if names else None) or label
            return f"@{name}" if name else SOMEONE
        if target.startswith("#"):
            return f"#{label}" if label else "#channel"
        if target.startswith("!subteam^"):
            return label or "@group"
        if target in ("!here", "!channel", "!everyone"):
            return f"@{target[1:]}"
        if target.startswith("!"):
            return label  # a date's fallback text, or nothing
        return label or target  # a link

    text = _CUT_SHORT.sub("…", _MARKUP.sub(shown, text))
    for escaped, character in _ESCAPES:
        text = text.replace(escaped, character)
    return text


def _option(
    value: str, text: str, description: str = "", names: Names | None = None
) -> dict[str, Any]:
    """An option: its text and description are display text, cut to fit with an ellipsis;
    its value comes back on submission, so it is never cut."""
    option: dict[str, Any] = {
        "text": {
            "type": "plain_text",
            "text": shorten(plain_text(text, names), OPTION_TEXT_MAX),
            "emoji": True,
        },
        "value": value,
    }
    if description:
        shown = shorten(plain_text(description, names), OPTION_TEXT_MAX)
        option["description"] = {"type": "plain_text", "text": shown}
    return option


def severity_modal(
    cases: list[CaseOption],
    levels: list[LevelOption],
    channel: str,
    level: str | None = None,
    reason: str = "",
    names: Names | None = None,
) -> dict[str, Any]:
    """The view for views.open. `level` and `reason` prefill what the command already said;
    `names` gives the names of people mentioned in the labels."""
    case_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK,
        "placeholder": {"type": "plain_text", "text": "Which case?"},
        "options": [_option(str(n), label, names=names) for n, label in cases[:100]],
    }
    if len(cases) == 1:
        case_select["initial_option"] = case_select["options"][0]
    # `policy check` refuses ids too long for an option value; one from a case's older policy
    # snapshot is left out rather than cut (it would not come back whole).
    fitting = [(i, name, desc) for i, name, desc in levels if len(i) <= OPTION_VALUE_MAX]
    level_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK,
        "placeholder": {"type": "plain_text", "text": "Which severity?"},
        "options": [_option(i, name, desc, names) for i, name, desc in fitting[:100]],
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


DETAILS_MODAL = "case_details"
DETAILS_ACTION = "case_details"
FIELD_BLOCK = "field:"  # + the intake field's id
ANSWER_MAX = 500  # characters per answer


def details_modal(
    case_key: str,
    number: int,
    channel: str,
    fields: list[tuple[str, str, bool]],
    answers: dict[str, str],
) -> dict[str, Any]:
    """The intake form: one plain-text input per field (id, label, required), filled with
    the answers given so far."""
    blocks = []
    for field_id, label, required in fields:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": PICK,
            "multiline": True,
            "max_length": ANSWER_MAX,
        }
        if answers.get(field_id):
            element["initial_value"] = answers[field_id][:ANSWER_MAX]
        blocks.append(
            {
                "type": "input",
                "block_id": f"{FIELD_BLOCK}{field_id}",
                "optional": not required,
                "label": {"type": "plain_text", "text": shorten(label, 2000)},
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": DETAILS_MODAL,
        "private_metadata": json.dumps({"channel": channel, "case": number}),
        "title": {"type": "plain_text", "text": shorten(f"{case_key} details", 24)},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def details_of(view: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The answers of a submitted details form by field id, and an error for each input
    the form marks required (not optional) that came back empty."""
    state = (view.get("state") or {}).get("values") or {}
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for block in view.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block.get("type") != "input" or not block_id.startswith(FIELD_BLOCK):
            continue
        value = ((state.get(block_id) or {}).get(PICK) or {}).get("value")
        text = value.strip() if isinstance(value, str) else ""
        if text:
            answers[block_id[len(FIELD_BLOCK) :]] = text
        elif not block.get("optional"):
            errors[block_id] = "This one is required."
    return answers, errors
