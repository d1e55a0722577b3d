"""The `escalation-bot` command line. Each subcommand imports what it needs lazily,
so `policy check` never touches Slack or the database."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="escalation-bot")
def cli() -> None:
    """Run a support team's escalation contract inside Slack."""


def _register() -> None:
    from bot.policies.cli import policy

    cli.add_command(policy)


def main() -> None:
    _register()
    cli()
