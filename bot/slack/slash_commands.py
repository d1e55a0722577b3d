"""`/severity`, `/case` and `/oncall`: the listener checks the text and acks at once (a usage
message for text it cannot parse, so nothing half-changes), and stores a valid command in
the inbox, where bot/slack/command_intake.py works it after the ack. The severity form's
submission is stored as the `/severity` it stands for."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.cases.commands import CASE_USAGE, UsageError
from bot.inbox import InboundRequest
from bot.oncall.commands import ONCALL_USAGE, OncallCommand
from bot.slack import guard, views
from bot.slack.interactions import actor, command_row, view_meta
from bot.slack.modals import Modals
from bot.slack.surface import COMMANDS
from bot.slack.verbs import parse


def register(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    def open_modal(body: dict[str, Any]) -> None:
        # Runs after the ack has gone (a lazy listener): the modal, if the command needs
        # one, within the trigger's 3 seconds.
        if modals is not None and body.get("command") == "/severity":
            modals.severity(body)

    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        name, text = str(body.get("command")), body.get("text")
        try:
            command = parse(name, text if isinstance(text, str) else "")
        except UsageError as exc:
            ack(response_type="ephemeral", text=str(exc))
            return
        if command.verb == "help":
            usage = ONCALL_USAGE if isinstance(command, OncallCommand) else CASE_USAGE
            ack(response_type="ephemeral", text=usage)
            return
        team, user = guard.slack_id(body.get("team_id")), guard.slack_id(body.get("user_id"))
        channel = guard.slack_id(body.get("channel_id"))
        if not (team and user and channel):
            ack(response_type="ephemeral", text="This command is missing its channel or user.")
            return
        trigger = body.get("trigger_id")
        key = guard.key("command", team, user, str(trigger or text))
        store(
            command_row(
                team, user, channel, name, str(text or ""), key, body.get("response_url"), trigger
            )
        )
        ack()

    app.command(re.compile(f"^({'|'.join(re.escape(c) for c in COMMANDS)})$"))(
        ack=on_command, lazy=[open_modal]
    )

    @app.view(views.SEVERITY_MODAL)
    def on_severity_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values, errors = views.submitted(view)
        if errors:
            ack(response_action="errors", errors=errors)  # shown under the fields
            return
        ack()
        team, user = actor(body)
        channel = guard.slack_id(view_meta(view).get("channel"))
        if not (team and user and channel):
            return
        text = " ".join(
            part
            for part in (
                f"CASE-{values[views.CASE_BLOCK]}",
                values[views.LEVEL_BLOCK],
                values[views.REASON_BLOCK],
            )
            if part
        )
        key = guard.key("modal", team, user, str(view.get("id") or text))
        store(command_row(team, user, channel, "/severity", text, key))
