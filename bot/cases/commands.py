"""The text of `/severity` and `/case`, parsed into plain commands. Pure: no Slack, no
database. A parse error's message is the usage line the person sees.

Each `/case` verb is a small parse function registered with `@syntax`, its line of
`/case help` beside it; `CASE_USAGE` lists them in the order they are registered. What the
verb then does is registered by the Slack side (bot/slack/verbs.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_TEXT = 2000

SEVERITY_USAGE = (
    "Usage: `/severity CASE-n LEVEL [reason]`, or `/severity LEVEL [reason]` when this "
    "channel has one open case. LEVEL is a severity id, name or alias of the case's policy."
)
# `/severity`'s line, last in `/case help`.
SEVERITY_LINE = (
    "`/severity CASE-n LEVEL [reason]` (or `/severity LEVEL [reason]` for the channel's only "
    "open case): set a case's severity"
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

# A verb's parse: the command's words (the verb first) and its whole text.
Parse = Callable[[list[str], str], Command]


@dataclass(frozen=True)
class Syntax:
    parse: Parse
    usage: str | None  # its line in `/case help`; None for what buttons and forms send


CASE_VERBS: dict[str, Syntax] = {}


def syntax(verb: str, usage: str | None = None) -> Callable[[Parse], Parse]:
    def register(fn: Parse) -> Parse:
        CASE_VERBS[verb] = Syntax(fn, usage)
        return fn

    return register


def parse_case(text: str) -> Command:
    # The details form's answers are bounded by the form itself (each input's max_length).
    words = text.split() if text.lstrip().lower().startswith("details ") else _check(text)
    if not words:
        return Command("help")
    found = CASE_VERBS.get(words[0].lower())
    if found is None:
        raise _unknown(words)
    return found.parse(words, text)


def _unknown(words: list[str]) -> UsageError:
    return UsageError(f"`/case {words[0][:40]}` is not a command I know.\n{CASE_USAGE}")


def _case(words: list[str]) -> int:
    """The case a verb names after it, or the error that asks which."""
    number = case_number(words[1]) if len(words) > 1 else None
    if number is None:
        verb = words[0].lower()
        raise UsageError(f"Which case? Usage: `/case {verb} CASE-n`, e.g. `/case {verb} CASE-12`.")
    return number


def _alone(words: list[str], text: str) -> Command:
    """A verb that takes its case and nothing else."""
    verb, number = words[0].lower(), _case(words)
    if words[2:]:
        raise UsageError(f"Usage: `/case {verb} CASE-n`.")
    return Command(verb, number)


def _with_note(words: list[str], text: str) -> Command:
    """A verb that takes its case and an optional note."""
    verb, number = words[0].lower(), _case(words)
    return Command(verb, number, note=" ".join(words[2:]))


@syntax("list", "`/case list [all]`: open cases in this channel (`all`: resolved ones too)")
def _list(words: list[str], text: str) -> Command:
    if len(words) > 2 or (len(words) == 2 and words[1].lower() != "all"):
        raise UsageError("Usage: `/case list [all]`")
    return Command("list", all=len(words) == 2)


syntax("show", "`/case show CASE-n`: a case's state and due times")(_alone)
syntax("take", "`/case take CASE-n`: assign a case to yourself")(_alone)


@syntax("assign", "`/case assign CASE-n @someone`: assign a case")
def _assign(words: list[str], text: str) -> Command:
    number, rest = _case(words), words[2:]
    found = _MENTION.fullmatch(rest[0]) if len(rest) == 1 else None
    if found is None:
        raise UsageError("Usage: `/case assign CASE-n @someone`.")
    return Command("assign", number, user=found.group(1))


syntax("wait", "`/case wait CASE-n [note]`: waiting on the requester: the clocks stop")(_with_note)
syntax("resume", "`/case resume CASE-n`: the clocks run again")(_alone)
syntax(
    "workaround",
    "`/case workaround CASE-n [note]`: a workaround is in place: the policy's rule lowers the "
    "severity",
)(_with_note)
syntax("resolve", "`/case resolve CASE-n [note]`: resolve a case")(_with_note)
syntax("reopen", "`/case reopen CASE-n`: open a resolved case again")(_alone)
syntax("ack", "`/case ack CASE-n`: acknowledge a page for a case: paging stops")(_alone)


@syntax(
    "note", "`/case note CASE-n TEXT`: keep a note on a case for your team only (never in a thread)"
)
def _note(words: list[str], text: str) -> Command:
    number = _case(words)
    # The note as written, line breaks and all: only the verb and the case are split off.
    parts = text.strip().split(None, 2)
    if len(parts) < 3:
        raise UsageError("What note? Usage: `/case note CASE-n TEXT`.")
    return Command("note", number, note=parts[2].strip())


@syntax("help", "`/case help`: this list")
def _help(words: list[str], text: str) -> Command:
    return Command("help")


@syntax("comment")
def _comment(words: list[str], text: str) -> Command:
    """What the feedback modal sends; not typed by people."""
    if len(words) >= 2 and case_number(words[1]) is not None:
        return Command("comment", case_number(words[1]), note=" ".join(words[2:]))
    raise _unknown(words)


@syntax("details")
def _details(words: list[str], text: str) -> Command:
    """What the details form sends, the answers as JSON; not typed by people."""
    parts = text.strip().split(None, 2)
    if len(parts) == 3 and case_number(parts[1]) is not None:
        return Command("details", case_number(parts[1]), note=parts[2])
    raise _unknown(words)


@syntax("rate")
def _rate(words: list[str], text: str) -> Command:
    """What the rating buttons under a resolution summary send; not typed by people."""
    if len(words) == 3 and case_number(words[1]) is not None and words[2] in RATINGS:
        return Command("rate", case_number(words[1]), level=words[2])
    raise _unknown(words)


CASE_USAGE = "\n".join(
    [s.usage for s in CASE_VERBS.values() if s.usage is not None] + [SEVERITY_LINE]
)
