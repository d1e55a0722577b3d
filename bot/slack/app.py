"""Bolt listeners: verify (Bolt does), parse, store in the inbox, ack. Nothing slow here:
the work happens after the ack, from the inbox."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.inbox import InboundRequest
from bot.slack.render import SET_SEVERITY_ACTION

log = logging.getLogger(__name__)

Store = Callable[[InboundRequest], None]
# Whether a thread (team, channel, thread_ts) belongs to a case: one indexed read.
HasCase = Callable[[str, str, str], bool]


def installation_team(body: dict[str, Any]) -> str:
    """In Slack Connect channels the envelope's team_id may be the other organisation's;
    the installation that received the event is authorizations[0]."""
    auths = body.get("authorizations") or []
    if auths and auths[0].get("team_id"):
        return str(auths[0]["team_id"])
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    return str(team)


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    # The legacy verification token is a credential; it has no business in the database.
    return {k: v for k, v in body.items() if k != "token"}


def build_app(
    *,
    signing_secret: str,
    client: WebClient,
    store: Store,
    has_case: HasCase,
    trigger_emoji: frozenset[str],
) -> App:
    app = App(
        signing_secret=signing_secret,
        client=client,
        # The listener's work is one insert; doing it before the response means the ack
        # is only sent once the event is safely stored.
        process_before_response=True,
        token_verification_enabled=False,
        # Bolt looks up the installation lazily; errors there must not be swallowed into 200.
        raise_error_for_unhandled_request=False,
    )

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("reaction") not in trigger_emoji:
            return
        if (event.get("item") or {}).get("type") != "message":
            return
        team = installation_team(body)
        event_id = body.get("event_id") or f"{event.get('event_ts')}:{event.get('user')}"
        store(
            InboundRequest(
                kind="reaction_added",
                team_id=team,
                dedupe_key=f"event:{team}:{event_id}",
                payload=_clean(body),
            )
        )

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only people's replies in a case's thread move its clocks; edits, joins and bot
        # posts (our own included) do not.
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        thread, channel = event.get("thread_ts"), event.get("channel")
        if not thread or thread == event.get("ts") or not channel:
            return
        team = installation_team(body)
        if not has_case(team, channel, thread):
            return
        event_id = body.get("event_id") or f"{event.get('ts')}:{event.get('user')}"
        store(
            InboundRequest(
                kind="thread_message",
                team_id=team,
                dedupe_key=f"event:{team}:{event_id}",
                payload=_clean(body),
            )
        )

    @app.event("reaction_removed")
    def on_reaction_removed() -> None:
        """Removing the reaction does not close the case."""

    @app.action(re.compile(rf"^{SET_SEVERITY_ACTION}:"))
    def on_set_severity(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        team = installation_team(body)
        user = (body.get("user") or {}).get("id", "")
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        case_id, _, severity = str(action.get("value", "")).partition(":")
        if not case_id.isdigit() or not severity:
            ack()
            return
        action_ts = action.get("action_ts") or body.get("trigger_id") or ""
        store(
            InboundRequest(
                kind="set_severity",
                team_id=team,
                dedupe_key=f"action:{team}:{user}:{action_ts}:{action.get('action_id')}",
                payload={
                    "case_id": case_id,
                    "severity": severity,
                    "user_id": user,
                    "channel_id": channel,
                    "source": f"action:{action_ts}",
                },
            )
        )
        ack()

    return app
