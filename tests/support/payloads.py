"""Builders of the payloads Slack sends to apps, as the tests use them: the demo's builders
(bot/demo/stand_in/payloads.py) and those only the tests need."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from bot.demo.stand_in.fake_slack import DEFAULT_APP_ID, DEFAULT_TEAM_DOMAIN, DEFAULT_TEAM_ID
from bot.demo.stand_in.payloads import (
    VERIFICATION_TOKEN,
    _add_enterprise,
    _counter,
    _reaction_event,
    _run,
    block_actions,
    event_callback,
    message,
    new_event_id,
    new_trigger_id,
    new_ts,
    reaction_added,
    slash_command,
)

__all__ = [
    "VERIFICATION_TOKEN",
    "app_rate_limited",
    "block_actions",
    "event_callback",
    "message",
    "new_event_id",
    "new_trigger_id",
    "new_ts",
    "reaction_added",
    "reaction_removed",
    "slash_command",
    "socket_mode_envelope",
    "url_verification",
    "view_submission",
]


def reaction_removed(
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
    """(event_reaction_removed.json)"""
    event = _reaction_event(
        "reaction_removed", channel, ts, user, reaction, item_user, event_ts, channel_type
    )
    return event_callback(team, event, event_id=event_id, api_app_id=api_app_id, **envelope)


def url_verification(challenge: str | None = None) -> dict[str, Any]:
    """(event_url_verification.json) Bolt answers 200 with `{"challenge": ...}`."""
    return {
        "token": VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(39),
        "type": "url_verification",
    }


def app_rate_limited(
    team_id: str = DEFAULT_TEAM_ID,
    minute_rate_limited: int | None = None,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """(event_app_rate_limited.json) The whole body; it has no `event` wrapper."""
    minute = minute_rate_limited if minute_rate_limited is not None else int(time.time()) // 60 * 60
    return {
        "token": VERIFICATION_TOKEN,
        "type": "app_rate_limited",
        "team_id": team_id,
        "minute_rate_limited": minute,
        "api_app_id": api_app_id,
    }


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


def socket_mode_envelope(
    payload: Mapping[str, Any],
    type: str = "events_api",
    retry_attempt: int = 0,
    *,
    retry_reason: str | None = None,
    envelope_id: str | None = None,
    accepts_response_payload: bool | None = None,
) -> dict[str, Any]:
    """What Socket Mode delivers over the websocket (socket_mode_events_api_envelope_retry.json).

    `type` is "events_api", "slash_commands" or "interactive". Only events carry retry fields.
    """
    envelope: dict[str, Any] = {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": dict(payload),
        "type": type,
        "accepts_response_payload": (
            type != "events_api" if accepts_response_payload is None else accepts_response_payload
        ),
    }
    if type == "events_api":
        envelope["retry_attempt"] = retry_attempt
        envelope["retry_reason"] = retry_reason or ("timeout" if retry_attempt else "")
    return envelope
