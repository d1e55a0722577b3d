"""The `escalation-bot` command line: serving, the worker, the database, the demo, reports
and purges here, and the `policy` group for support leads in bot.cli.policy. Bad settings
end the process with one line naming the setting, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from bot.cli.policy import policy as policy_group

# Each subcommand imports the layers below it inside its body: start-up stays fast and
# `policy check` never loads Slack or the database (importing downwards breaks no layering).


def fail(message: str) -> None:
    click.echo(f"escalation-bot: {message}", err=True)
    sys.exit(2)


def _settings(required: tuple[str, ...] = (), tokens: bool = False) -> Any:
    """The settings, with `required` set; `tokens`: and what Slack's Web API needs, a bot
    token (one workspace) or the state secret of the OAuth install flow (many)."""
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        settings.require(*required)
        if tokens:
            settings.require(
                "slack_state_secret" if settings.multi_workspace else "slack_bot_token"
            )
        return settings
    except SettingsError as exc:
        fail(str(exc))


def _runtime(settings: Any, migrate: bool) -> Any:
    from bot import logs
    from bot.policies.loader import PolicyLoadError
    from bot.runtime import Runtime

    logs.configure(settings.log_level, settings.log_format, settings.secrets())
    try:
        runtime = Runtime(settings)
    except PolicyLoadError as exc:
        fail(f"POLICIES_PATH: {exc}")
    if migrate:
        try:
            runtime.migrate()
        except Exception as exc:
            fail(f"DATABASE_URL: cannot migrate the database: {_first_line(exc)}")
    ok, reason = runtime.ready()
    if not ok:
        hint = "" if migrate else ": run `escalation-bot db upgrade` or set AUTO_MIGRATE=true"
        fail(f"DATABASE_URL: {reason}{hint}")
    return runtime


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@click.group()
@click.version_option(package_name="escalation-bot")
def cli() -> None:
    """Run a support team's escalation contract inside Slack."""


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve Slack's Events API, commands and interactivity over HTTP."""
    import uvicorn

    from bot.web import build_web, edge_options

    settings = _settings(("slack_signing_secret",), tokens=True)
    runtime = _runtime(settings, settings.auto_migrate)
    uvicorn.run(
        build_web(runtime, background=_background(settings, runtime)),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        **edge_options(settings),
    )


def _background(settings: Any, runtime: Any) -> Any:
    """What runs the background work beside this serving process (see bot/worker.py)."""
    from bot.worker import Background, resolve_mode

    return Background(runtime, resolve_mode(settings))


@cli.command()
def socket() -> None:
    """Run the same bot over Socket Mode."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings = _settings(("slack_app_token", "slack_bot_token"))
    runtime = _runtime(settings, settings.auto_migrate)
    handler = SocketModeHandler(
        runtime.bolt_app(), settings.slack_app_token.get_secret_value(), web_client=runtime.client
    )
    background = _background(settings, runtime)
    background.start()
    try:
        handler.start()
    finally:
        background.stop()


@cli.command()
def worker() -> None:
    """Only the background work: open cases, fire timers, post to Slack.

    For deployments that answer Slack in one place (BACKGROUND_WORK=off) and work in
    another; `serve` also starts one itself on PostgreSQL."""
    from bot.worker import run_worker

    settings = _settings(tokens=True)
    run_worker(_runtime(settings, settings.auto_migrate))


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply migrations up to the latest."""
    from bot.db import migrate
    from bot.db.engine import make_engine

    settings = _settings()
    try:
        migrate.upgrade(make_engine(settings.database_url))
    except Exception as exc:
        fail(f"DATABASE_URL: cannot migrate the database: {_first_line(exc)}")
    click.echo("database is at the latest migration")


@cli.command()
@click.option("--speed", default=0.0, help="Pause between steps, in seconds.")
def demo(speed: float) -> None:
    """The whole flow with no Slack account: a local stand-in for Slack, SQLite, a fast clock."""
    from bot.demo.run import run_demo

    sys.exit(run_demo(speed=speed))


@cli.command()
@click.option(
    "--since",
    required=True,
    help="Start of the period: a day (2026-01-05, from 00:00 UTC) or an ISO 8601 time with Z "
    "or an offset.",
)
@click.option("--until", help="End of the period, not included; same forms (default: now).")
@click.option("--policy", help="Only the cases of this policy id.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "csv", "json")),
    default="table",
    show_default=True,
)
@click.option(
    "--by",
    type=click.Choice(("policy", "channel")),
    default="policy",
    show_default=True,
    help="A row per policy and severity, or per policy and channel (a customer).",
)
def report(since: str, until: str | None, policy: str | None, fmt: str, by: str) -> None:
    """Per policy and severity (or channel), for the cases opened in the period: first
    responses met and missed, median and p90 time to first response, breaches, time waiting
    on requesters, feedback. Durations are in seconds in CSV and JSON."""
    from bot.clock import SystemClock
    from bot.reports import figures, formats

    now = SystemClock().now()
    try:
        start = formats.parse_bound(since, "--since")
        end = formats.parse_bound(until, "--until") if until else now
    except ValueError as exc:
        fail(str(exc))
    if end <= start:
        fail(f"--until ({formats.stamp(end)}) must be after --since ({formats.stamp(start)})")
    with _database() as sessions, sessions() as session:
        try:
            found = figures.report(
                session, start, end, now, policy, "channel" if by == "channel" else "policy"
            )
        except figures.UnknownPolicy as exc:
            fail(str(exc))
    click.echo(formats.render(found, fmt), nl=False)


@cli.command()
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Purge cases resolved more than this many days ago.",
)
@click.option(
    "--uninstalled-days",
    "uninstalled",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Remove the installations of workspaces uninstalled more than this many days ago "
    "(multi-workspace mode; default: --older-than).",
)
def purge(days: int, uninstalled: int | None) -> None:
    """Remove the message text, notes and people of cases resolved more than DAYS days ago,
    and the payloads of Slack requests and bot messages older than that; keep every figure
    `report` shows. Also remove expired install states and the installations of workspaces
    uninstalled long enough ago."""
    from datetime import timedelta

    from bot.clock import SystemClock
    from bot.reports.formats import stamp
    from bot.reports.purge import purge as run

    gone = None if uninstalled is None else timedelta(days=uninstalled)
    with _database() as sessions, sessions.begin() as session:
        done = run(session, SystemClock().now(), timedelta(days=days), gone)
    click.echo(
        f"purged {done.cases} cases resolved before {stamp(done.cutoff)}; cleared "
        f"{done.events} timeline entries, {done.feedback} feedback, {done.outbox} outbox and "
        f"{done.inbox} inbox rows"
    )
    if done.states or done.installations:
        assert done.uninstalled_cutoff is not None
        click.echo(
            f"removed {done.states} expired install states and {done.installations} "
            f"installations of workspaces uninstalled before {stamp(done.uninstalled_cutoff)}"
        )


@contextmanager
def _database() -> Iterator[Any]:
    """Sessions on DATABASE_URL, once it is reachable and migrated."""
    from bot.db import migrate
    from bot.db.engine import make_engine, make_sessionmaker

    engine = make_engine(_settings().database_url)
    try:
        try:
            current = migrate.is_current(engine)
        except Exception as exc:
            fail(f"DATABASE_URL: database unreachable: {_first_line(exc)}")
        if not current:
            fail("DATABASE_URL: not at the latest migration: run `escalation-bot db upgrade`")
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def _register() -> None:
    cli.add_command(policy_group)


def main() -> None:
    _register()
    cli()
