"""The text of `/oncall`, parsed into a plain command. Pure: no Slack, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.cases.commands import UsageError

ONCALL_USAGE = """\
`/oncall`: who is on call now in each schedule, who is next and when
`/oncall NAME`: schedule NAME for the next seven days
`/oncall override @someone FROM TO [NAME]`: someone covers schedule NAME from FROM to TO \
(`YYYY-MM-DD HH:MM` in the schedule's time zone; support team only)"""

_MENTION = re.compile(r"<@([A-Z0-9]{1,40})(?:\|[^>]*)?>")
_NAME = re.compile(r"[a-z0-9][a-z0-9._\-]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{1,2}:\d{2}")


@dataclass(frozen=True)
class OncallCommand:
    verb: str  # "who", "week", "override", "help"
    schedule: str | None = None
    user: str | None = None
    start: datetime | None = None  # local time of the schedule
    end: datetime | None = None


def _stamp(words: list[str]) -> datetime:
    """Take one `YYYY-MM-DD HH:MM` (or `YYYY-MM-DDTHH:MM`) off the front of `words`."""
    if not words:
        raise UsageError("When? Write FROM and TO as `YYYY-MM-DD HH:MM`.\n" + ONCALL_USAGE)
    first = words.pop(0)
    day, _, clock = first.partition("T")
    if not clock and words and _TIME.fullmatch(words[0]):
        clock = words.pop(0)
    if not (_DAY.fullmatch(day) and _TIME.fullmatch(clock)):
        raise UsageError(
            f"`{first[:40]}` is not a date and time: write `YYYY-MM-DD HH:MM`, "
            "e.g. `2026-12-24 18:00`."
        )
    try:
        return datetime.fromisoformat(f"{day} {int(clock[:-3]):02d}:{clock[-2:]}")
    except ValueError:
        raise UsageError(f"`{day} {clock}` is not a date and time that exists.") from None


def parse_oncall(text: str) -> OncallCommand:
    words = text.split()
    if len(text) > 2000:
        raise UsageError("That is too long for an `/oncall` command.")
    if not words:
        return OncallCommand("who")
    verb = words[0].lower()
    if verb == "help":
        return OncallCommand("help")
    if verb != "override":
        if len(words) == 1 and _NAME.fullmatch(words[0]):
            return OncallCommand("week", schedule=words[0])
        raise UsageError(f"`/oncall {text[:40]}` is not a command I know.\n{ONCALL_USAGE}")
    rest = words[1:]
    found = _MENTION.fullmatch(rest[0]) if rest else None
    if found is None:
        raise UsageError("Who covers? Usage: `/oncall override @someone FROM TO [NAME]`.")
    rest = rest[1:]
    start = _stamp(rest)
    end = _stamp(rest)
    if end <= start:
        raise UsageError("An override must end after it starts.")
    name = rest.pop(0) if rest else None
    if rest or (name is not None and not _NAME.fullmatch(name)):
        raise UsageError("Usage: `/oncall override @someone FROM TO [NAME]`.")
    return OncallCommand("override", schedule=name, user=found.group(1), start=start, end=end)
