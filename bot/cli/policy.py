"""`escalation-bot policy ...`: commands for support leads who write policy files.

Subcommands register on the `policy` group with `@policy.command()`; each imports what it
needs so the group stays cheap to load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from bot.policies.policy import Policy

DEFAULT_PATH = "policies"


@click.group()
def policy() -> None:
    """Check and inspect escalation policies."""


@policy.command()
@click.argument("path", required=False, envvar="POLICIES_PATH", default=DEFAULT_PATH)
def check(path: str) -> None:
    """Validate the policy file or folder at PATH (default: $POLICIES_PATH, else policies)."""
    from bot.policies.loader import PolicyLoadError, load_policies

    try:
        policies = load_policies(path)
    except PolicyLoadError as error:
        for line in error.errors:
            click.echo(line)
        raise SystemExit(1) from None
    for found in policies:
        unnamed = found.unnamed_alerts()
        if unnamed:
            click.echo(
                f"warning: {found.source_path or found.id}: reminders and breach alerts of "
                f"{', '.join(unnamed)} name nobody on a case nobody is assigned: list "
                "`responders` or page a chain for them"
            )
    n, m = len(policies), policies.severity_count
    click.echo(f"ok: {n} polic{'y' if n == 1 else 'ies'}, {m} severit{'y' if m == 1 else 'ies'}")


@policy.command()
@click.argument("policy_ref", metavar="POLICY")
@click.option("--severity", "severity", required=True, help="Severity id, name or alias.")
@click.option("--opened", required=True, help="When the case opens: ISO 8601 with Z or offset.")
@click.option(
    "--pause",
    "pauses",
    multiple=True,
    metavar="FROM/TO",
    help="A stretch the case waits on the requester (ISO 8601 instants); may repeat.",
)
@click.option("--tz", "zone", help="Zone to print times in (default: the calendar's zone).")
def simulate(
    policy_ref: str, severity: str, opened: str, pauses: tuple[str, ...], zone: str | None
) -> None:
    """Show when a case would be due, and why: the open time counted and what was skipped.

    POLICY is a policy file, or the id of a policy in $POLICIES_PATH (default: policies).
    """
    from bot.simulation.inputs import SimulationError, parse_instant, parse_pause, parse_zone
    from bot.simulation.render import render
    from bot.simulation.timeline import simulate as run

    try:
        opened_at = parse_instant(opened, "--opened")
        paused = [parse_pause(text) for text in pauses]
        tz = parse_zone(zone) if zone else None
        result = run(_find_policy(policy_ref), severity, opened_at, paused)
    except SimulationError as error:
        _fail(str(error))
    for line in render(result, tz):
        click.echo(line)


def _find_policy(ref: str) -> Policy:
    """A policy file, else a policy id in $POLICIES_PATH. Raises SimulationError."""
    from bot.policies.loader import PolicyLoadError, load_policies
    from bot.simulation.inputs import SimulationError

    path = Path(ref)
    by_path = path.is_file() or path.suffix in (".yaml", ".yml") or os.sep in ref
    if path.is_dir():
        raise SimulationError(f"{ref} is a folder: give one policy file, or a policy id")
    if by_path and not path.exists():
        raise SimulationError(f"no policy file {ref}")
    where = ref if by_path else os.environ.get("POLICIES_PATH") or DEFAULT_PATH
    try:
        policies = load_policies(where)
    except PolicyLoadError as error:
        more = f" (and {len(error.errors) - 1} more)" if len(error.errors) > 1 else ""
        raise SimulationError(
            f"{error.errors[0]}{more}: run `escalation-bot policy check {where}`"
        ) from None
    if by_path:
        if len(policies) != 1:
            raise SimulationError(f"{ref} holds {len(policies)} policies: name one by its id")
        return next(iter(policies))
    found = policies.get(ref)
    if found is None:
        known = ", ".join(sorted(p.id for p in policies))
        raise SimulationError(f"no policy '{ref}' in {where}: known ids are {known}")
    return found


def _fail(message: str) -> NoReturn:
    click.echo(f"escalation-bot: {message}", err=True)
    raise SystemExit(2)
