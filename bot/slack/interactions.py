"""What the listeners read off an interaction (a button press, a modal submission): its
workspace, user and channel, a modal's metadata; and the inbox row a command is stored as,
however it came: typed, a button, a modal."""

from __future__ import annotations

import json
from typing import Any

from bot.db.states import InboxKind
from bot.inbox import InboundRequest
from bot.slack import guard
from bot.slack.teams import installation_team


def command_row(
    team: str,
    user: str,
    channel: str,
    command: str,
    text: str,
    key: str,
    response_url: object = None,
    trigger_id: object = None,
) -> InboundRequest:
    """The inbox row of a command, however it came: typed, a button, a modal."""
    return InboundRequest(
        kind=InboxKind.COMMAND,
        team_id=team,
        dedupe_key=key,
        payload=guard.storable(
            {
                "command": command,
                "text": text,
                "user_id": user,
                "channel_id": channel,
                "response_url": response_url if isinstance(response_url, str) else None,
                "trigger_id": trigger_id if isinstance(trigger_id, str) else None,
            }
        ),
    )


def actor(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The workspace and user of an interaction (button press, modal submission)."""
    user = body.get("user") or {}
    return guard.slack_id(installation_team(body)), guard.slack_id(user.get("id"))


def action_channel(body: dict[str, Any]) -> str | None:
    where = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return guard.slack_id(where)


def view_meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
