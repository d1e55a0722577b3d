"""`escalation-bot` commands run in-process, as a user would type them."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    """Run `escalation-bot *args`; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr
