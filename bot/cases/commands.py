"""The text of `/severity` and `/case`, parsed into plain commands. Pure: no Slack, no
database. A parse error's message is the usage line the person sees."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TEXT = 2000

CASE_USAGE = """\
`/case list [all]`: open cases in this channel (`all`: resolved ones too)
`/case show CASE-n`: a case's state and due times
`/case take CASE-n`: assign a case to yourself
`/case assign CASE-n @someone`: assign a case
`/case wait CASE-n [note]`: waiting on the requester: the clocks stop
`/case resume CASE-n`: the clocks run again
`/case workaround CASE-n [note]`: a workaround is in place: the policy's rule lowers the \
severity
`/case resolve CASE-n [note]`: resolve a case
`/case reopen CASE-n`: open a resolved case again
`/case ack CASE-n`: acknowledge a page for a case: paging stops
`/case note CASE-n TEXT`: keep a note on a case for your team only (never in a thread)
`/case help`: this list
`/severity CASE-n LEVEL [reason]` (or `/severity LEVEL [reason]` for the channel's only open \
case): set a case's severity"""

SEVERITY_USAGE = (
    "Usage: `/severity CASE-n LEVEL [reason]`, or `/severity LEVEL [reason]` when this "
    "channel has one open case. LEVEL is a severity id, name or alias of the case's policy."
)

_CASE_ID = re.compile(r"(?:case-?)?#?(\d{1,9})", re.IGNORECASE)
_MENTION = re.compile(r"<@([A-Z0-9]{1,40})(?:\|[^>]*)?>")


class UsageError(ValueError):
    """The command's text is not one the bot understands; the message says how to fix it."""


@dataclass(frozen=True)
class Command:
    """`verb` on case `number` (None: the channel's only open case, or none needed)."""

    verb: str
    number: int | None = None
    level: str | None = None
    user: str | None = None  # the assignee of `assign`
    note: str = ""
    all: bool = False


def case_number(word: str) -> int | None:
    found = _CASE_ID.fullmatch(word)
    return int(found.group(1)) if found else None


def _check(text: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise UsageError(f"That is {len(text)} characters; a command takes at most {MAX_TEXT}.")
    return text.split()


def parse_severity(text: str) -> Command:
    words = _check(text)
    if not words:
        return Command("severity")  # the modal asks for the case and the level
    number = case_number(words[0])
    if number is not None:
        if len(words) < 2:
            raise UsageError(f"Which severity for CASE-{number}? " + SEVERITY_USAGE)
        return Command("severity", number, level=words[1], note=" ".join(words[2:]))
    return Command("severity", None, level=words[0], note=" ".join(words[1:]))


RATINGS = ("good", "bad")
_NEEDS_CASE = (
    "show",
    "take",
    "assign",
    "wait",
    "resume",
    "workaround",
    "resolve",
    "reopen",
    "ack",
    "note",
)


def parse_case(text: str) -> Command:
    # The details form's answers are bounded by the form itself (each input's max_length).
    words = text.split() if text.lstrip().lower().startswith("details ") else _check(text)
    if not words or words[0].lower() == "help":
        return Command("help")
    verb = words[0].lower()
    if verb == "list":
        if len(words) > 2 or (len(words) == 2 and words[1].lower() != "all"):
            raise UsageError("Usage: `/case list [all]`")
        return Command("list", all=len(words) == 2)
    if verb == "comment":
        # What the feedback modal sends; not typed by people.
        if len(words) >= 2 and case_number(words[1]) is not None:
            return Command("comment", case_number(words[1]), note=" ".join(words[2:]))
        raise UsageError(f"`/case {words[0][:40]}` is not a command I know.\n{CASE_USAGE}")
    if verb == "details":
        # What the details form sends: the answers as JSON; not typed by people.
        parts = text.strip().split(None, 2)
        if len(parts) == 3 and case_number(parts[1]) is not None:
            return Command("details", case_number(parts[1]), note=parts[2])
        raise UsageError(f"`/case {words[0][:40]}` is not a command I know.\n{CASE_USAGE}")
    if verb == "rate":
        # What the rating buttons under a resolution summary send; not typed by people.
        if len(words) == 3 and case_number(words[1]) is not None and words[2] in RATINGS:
            return Command("rate", case_number(words[1]), level=words[2])
        raise UsageError(f"`/case {words[0][:40]}` is not a command I know.\n{CASE_USAGE}")
    if verb not in _NEEDS_CASE:
        raise UsageError(f"`/case {words[0][:40]}` is not a command I know.\n{CASE_USAGE}")
    if len(words) < 2 or case_number(words[1]) is None:
        raise UsageError(f"Which case? Usage: `/case {verb} CASE-n`, e.g. `/case {verb} CASE-12`.")
    number = case_number(words[1])
    rest = words[2:]
    if verb == "assign":
        found = _MENTION.fullmatch(rest[0]) if len(rest) == 1 else None
        if found is None:
            raise UsageError("Usage: `/case assign CASE-n @someone`.")
        return Command("assign", number, user=found.group(1))
    if verb in ("show", "take", "resume", "reopen", "ack") and rest:
        raise UsageError(f"Usage: `/case {verb} CASE-n`.")
    if verb == "note":
        # The note as written, line breaks and all: only the verb and the case are split off.
        parts = text.strip().split(None, 2)
        if len(parts) < 3:
            raise UsageError("What note? Usage: `/case note CASE-n TEXT`.")
        return Command("note", number, note=parts[2].strip())
    return Command(verb, number, note=" ".join(rest))
