"""`escalation-bot policy ...`: commands for support leads who write policy files.

Subcommands register on the `policy` group with `@policy.command()`; each imports what it
needs so the group stays cheap to load.
"""

from __future__ import annotations

import click

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
    click.echo(f"ok: {len(policies)} policies, {policies.severity_count} severities")
