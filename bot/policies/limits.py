"""Slack's limits on the Block Kit fields the bot fills with text from policy files, and the
shapes it builds those fields in.

Slack refuses a whole message or modal when one field is too long, so `policy check` refuses
a severity id or name whose longest use would be: each use is a `Slot`, built here by the
same functions the renderers in bot/slack call. Nothing here imports Slack's libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Slack's limits, in characters (api.slack.com/reference/block-kit).
ACTION_ID_MAX = 255
OPTION_VALUE_MAX = 150
OPTION_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BUTTON_TEXT_MAX = 75

# bot.db.models.Case.severity
SEVERITY_COLUMN_MAX = 40

SET_SEVERITY_ACTION = "set_severity"
# The largest id a case can have in the database (a signed 64-bit integer).
CASE_ID_MAX = 2**63 - 1


def severity_action_id(severity_id: str) -> str:
    """The action_id of the case card's button that sets `severity_id`."""
    return f"{SET_SEVERITY_ACTION}:{severity_id}"


def severity_button_value(case_id: int, severity_id: str) -> str:
    """The value of that button: which case, which severity."""
    return f"{case_id}:{severity_id}"


def shorten(text: str, limit: int) -> str:
    """Display text cut to `limit` characters, ending in an ellipsis when cut. Never for a
    value that has to come back (an id, an option value): those are refused instead."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Slot:
    """One Block Kit field the bot fills from a policy string."""

    where: str  # which field of which message, as a support lead would look for it
    shape: str  # how the value is built, for the message
    limit: int
    build: Callable[[str], str]
    # Whose limit it is.
    by: str = "Slack's"

    def longest(self) -> int:
        """The longest policy string that fits (the shapes only add a prefix or suffix)."""
        return self.limit - len(self.build(""))


def _same(value: str) -> str:
    return value


SEVERITY_ID_SLOTS = (
    Slot(
        "the case card's button action_id", "set_severity:<id>", ACTION_ID_MAX, severity_action_id
    ),
    Slot(
        "the case card's button value",
        "<case id>:<id>",
        BUTTON_VALUE_MAX,
        lambda severity_id: severity_button_value(CASE_ID_MAX, severity_id),
    ),
    Slot("the /severity modal's option value", "<id>", OPTION_VALUE_MAX, _same),
    # Not Slack's, but as real: a case keeps its severity id in a 40-character column.
    Slot("a case's stored severity", "<id>", SEVERITY_COLUMN_MAX, _same, by="the database's"),
)
SEVERITY_NAME_SLOTS = (
    Slot("the case card's button text", "<name>", BUTTON_TEXT_MAX, _same),
    Slot("the /severity modal's option text", "<name>", OPTION_TEXT_MAX, _same),
)


def longest(slots: Iterable[Slot]) -> int:
    """The longest policy string that fits every slot."""
    return min(slot.longest() for slot in slots)


def too_long(what: str, value: str, slots: Iterable[Slot]) -> str | None:
    """Why Slack would refuse `value` (a severity id, ...) in one of its slots, or None."""
    slots = tuple(slots)
    over = [(slot, len(slot.build(value))) for slot in slots]
    over = [(slot, size) for slot, size in over if size > slot.limit]
    if not over:
        return None
    reasons = "; ".join(
        f"{slot.where} ({slot.shape}) would be {size} characters, {slot.by} limit is {slot.limit}"
        for slot, size in over
    )
    for_whom = " for Slack" if all(slot.by == "Slack's" for slot, _ in over) else ""
    return (
        f"{what} of {len(value)} characters is too long{for_whom}: {reasons}: "
        f"use at most {longest(slots)} characters"
    )
