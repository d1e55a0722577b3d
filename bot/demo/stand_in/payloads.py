"""Builders of the payloads Slack sends to apps, in Slack's own shapes.

Each builder mirrors a file in `tests/fixtures/slack/` (named in
its docstring). Defaults match FakeSlack's workspace, so a payload built with defaults is
addressed to the bot the fake serves. Identifiers that must be unique per delivery
(event_id, trigger_id) are minted fresh.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from bot.demo.stand_in.model import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
)

# Slack still sends the deprecated verification token in every payload; apps ignore it.
VERIFICATION_TOKEN = "verification_token"

_counter = itertools.count(1)
_run = secrets.token_hex(3).upper()
_ts_lock = threading.Lock()
_last_ts_micros = 0


def new_event_id() -> str:
    """A unique `Ev...` id (the key Slack retries carry unchanged)."""
    return f"Ev{_run}{next(_counter):06d}"


def new_trigger_id() -> str:
    return f"{next(_counter)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


def new_ts() -> str:
    """A unique Slack-style timestamp from the wall clock, for event_ts defaults."""
    global _last_ts_micros
    with _ts_lock:
        micros = max(time.time_ns() // 1000, _last_ts_micros + 1)
        _last_ts_micros = micros
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _authorization(team: str, bot_user_id: str, enterprise_id: str | None) -> dict[str, Any]:
    return {
        "enterprise_id": enterprise_id,
        "team_id": team,
        "user_id": bot_user_id,
        "is_bot": True,
        "is_enterprise_install": False,
    }


def event_callback(
    team: str,
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    enterprise_id: str | None = None,
    authorization_team: str | None = None,
    is_ext_shared_channel: bool = False,
) -> dict[str, Any]:
    """The Events API envelope around `event` (event_reaction_added.json and friends).

    In a Slack Connect channel the top-level `team` can be the other organisation; the
    installation that should handle the event is `authorizations[0]`, set by
    `authorization_team` (defaults to `team`).
    """
    if event_time is None:
        event_ts = event.get("event_ts") or event.get("ts")
        event_time = int(float(event_ts)) if event_ts else int(time.time())
    envelope: dict[str, Any] = {"token": VERIFICATION_TOKEN, "team_id": team}
    if enterprise_id is not None:
        envelope["enterprise_id"] = enterprise_id
    envelope.update(
        {
            "api_app_id": api_app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or new_event_id(),
            "event_time": event_time,
            "authorizations": [
                _authorization(authorization_team or team, bot_user_id, enterprise_id)
            ],
            "is_ext_shared_channel": is_ext_shared_channel,
        }
    )
    return envelope


def reaction_event(
    kind: str,
    channel: str,
    ts: str,
    user: str,
    reaction: str,
    item_user: str | None,
    event_ts: str | None,
    channel_type: str,
) -> dict[str, Any]:
    """The `event` of a reaction_added or reaction_removed (`kind`) delivery."""
    event: dict[str, Any] = {"type": kind, "user": user, "reaction": reaction}
    if item_user is not None:
        event["item_user"] = item_user
    event["item"] = {"type": "message", "channel": channel, "ts": ts, "channel_type": channel_type}
    event["event_ts"] = event_ts or new_ts()
    return event


def reaction_added(
    team: str,
    channel: str,
    ts: str,
    user: str,
    reaction: str = "ticket",
    item_user: str | None = None,
    event_id: str | None = None,
    event_ts: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    *,
    channel_type: str = "channel",
    **envelope: Any,
) -> dict[str, Any]:
    """`user` reacted `reaction` to message `ts` (event_reaction_added.json).

    `item_user` is the author of the reacted message. Extra keywords go to `event_callback`.
    """
    event = reaction_event(
        "reaction_added", channel, ts, user, reaction, item_user, event_ts, channel_type
    )
    return event_callback(team, event, event_id=event_id, api_app_id=api_app_id, **envelope)


def message(
    team: str,
    channel: str,
    ts: str,
    user: str,
    text: str,
    *,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    channel_type: str = "channel",
    blocks: list[dict[str, Any]] | None = None,
    user_team: str | None = None,
    event_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    **envelope: Any,
) -> dict[str, Any]:
    """A human's message (event_message_channels_docs.json).

    With `thread_ts` it is a thread reply as the Events API delivers it: no subtype, just
    `thread_ts` != `ts` and `parent_user_id` (event_message_thread_reply_bolt.json).
    `user_team` marks a poster from another organisation in a Slack Connect channel.
    """
    event: dict[str, Any] = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": user_team or team,
    }
    if user_team is not None:
        event["user_team"] = user_team
        event["source_team"] = user_team
    if blocks is not None:
        event["blocks"] = blocks
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        if parent_user_id is not None:
            event["parent_user_id"] = parent_user_id
    event["channel"] = channel
    event["event_ts"] = ts
    event["channel_type"] = channel_type
    return event_callback(team, event, event_id=event_id, api_app_id=api_app_id, **envelope)


def slash_command(
    command: str = "/severity",
    text: str = "",
    *,
    user_id: str,
    channel_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str | None = None,
    user_name: str | None = None,
    channel_name: str = "general",
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    trigger_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command (slash_command.json `parsed`), in Slack's order.

    `response_url` defaults to a hooks.slack.com URL, which this machine cannot reach; pass
    `FakeSlack.response_url(...)` when the bot will answer through it.
    """
    form = {"token": VERIFICATION_TOKEN, "team_id": team_id, "team_domain": team_domain}
    if enterprise_id is not None:
        form["enterprise_id"] = enterprise_id
        form["enterprise_name"] = enterprise_name or enterprise_id
    form.update(
        {
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "response_url": response_url
            or f"https://hooks.slack.com/commands/{team_id}/{next(_counter)}/{secrets.token_hex(12)}",
            "trigger_id": trigger_id or new_trigger_id(),
            "api_app_id": api_app_id,
        }
    )
    return form


def block_actions(
    action_id: str,
    value: str,
    user: str,
    channel: str,
    message_ts: str,
    team: str = DEFAULT_TEAM_ID,
    response_url: str | None = None,
    *,
    block_id: str = "b",
    action_type: str = "button",
    text: str = "Button",
    user_name: str | None = None,
    user_team: str | None = None,
    channel_name: str = "general",
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    is_ephemeral: bool = False,
    message: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
) -> dict[str, Any]:
    """A button click on a message (interactivity_block_actions.json).

    Pass `message` (e.g. a stored `Message.to_api()`) to include the clicked message,
    as Slack does for non-ephemeral messages. Send it with `SlackDriver.interaction`.
    """
    name = user_name or user.lower()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": user_team or team},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel_name},
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team}/{next(_counter)}/{secrets.token_hex(12)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": text, "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": new_ts(),
            }
        ],
    }
    if enterprise_id is not None:
        _add_enterprise(payload, enterprise_id, enterprise_name)
    if message is not None:
        payload["message"] = dict(message)
    return payload


def _add_enterprise(payload: dict[str, Any], enterprise_id: str, name: str | None) -> None:
    payload["team"]["enterprise_id"] = enterprise_id
    payload["team"]["enterprise_name"] = name or enterprise_id
    payload["enterprise"] = {"id": enterprise_id, "name": name or enterprise_id}


def view_submission(
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
    user: str,
    team: str = DEFAULT_TEAM_ID,
    *,
    private_metadata: str = "",
    view_id: str | None = None,
    title: str = "Escalation",
    user_name: str | None = None,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
) -> dict[str, Any]:
    """A modal submitted (interactivity_view_submission.json).

    `values` is the view state: `{block_id: {action_id: {"type": ..., "value": ...}}}`.
    """
    name = user_name or user.lower()
    vid = view_id or f"V{_run}{next(_counter):04d}"
    state = {block: {a: dict(v) for a, v in acts.items()} for block, acts in values.items()}
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team, "domain": team_domain},
        "user": {"id": user, "username": name, "name": name, "team_id": team},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": vid,
            "team_id": team,
            "type": "modal",
            "blocks": copy.deepcopy(blocks) if blocks is not None else [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": vid,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team,
            "bot_id": None,
        },
        "response_urls": [],
    }
    if enterprise_id is not None:
        _add_enterprise(payload, enterprise_id, enterprise_name)
    return payload
