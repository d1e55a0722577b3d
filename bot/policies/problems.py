"""Where a policy is wrong: locations inside its file, and the exception that carries them.

Shape errors come from pydantic with their location; cross-references inside one policy
(bot.policies.checks) are raised as PolicyProblems, which carries locations too, so the
loader can name the line either way.
"""

from __future__ import annotations

from collections.abc import Iterable

Loc = tuple[str | int, ...]


class PolicyProblems(Exception):
    """Semantic problems in a policy whose shape was valid: (location, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{format_loc(loc) or 'policy'}: {msg}" for loc, msg in problems)
        )


def format_loc(loc: Iterable[str | int]) -> str:
    """('severities', 2, 'targets') -> 'severities[2].targets'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
