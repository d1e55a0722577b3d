"""Builders of the payloads Slack sends to apps, as the tests use them: the demo's builders
(bot/demo/stand_in/payloads.py) and those only the tests need."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from bot.demo.stand_in.fake_slack import DEFAULT_APP_ID, DEFAULT_TEAM_ID
from bot.demo.stand_in.payloads import (
    VERIFICATION_TOKEN,
    block_actions,
    event_callback,
    message,
    new_event_id,
    new_trigger_id,
    new_ts,
    reaction_added,
    reaction_event,
    slash_command,
    view_submission,
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
    event = reaction_event(
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
