"""The listeners of the bot's buttons and forms: the case card's buttons (Take, Waiting on
requester, Resume, Resolve, and a severity each), a page's Acknowledge, the rating buttons
under a resolution summary and their comment form, and the intake ask's Add details with
its form. Each is stored as the command it stands for (or, for severity, a `set_severity`
request), so a button and the typed command take one path after the ack."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.db.states import InboxKind
from bot.inbox import InboundRequest
from bot.slack import guard, views
from bot.slack.buttons import CASE_ACTION, FEEDBACK_ACTION, RATINGS, SET_SEVERITY_ACTION
from bot.slack.interactions import action_channel, actor, command_row, view_meta
from bot.slack.modals import Modals
from bot.slack.page_intents import PAGE_ACK_ACTION

log = logging.getLogger(__name__)


def register_buttons(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The card's Take, Waiting on requester, Resume and Resolve buttons: stored as the
    `/case` command they stand for, so both take one path."""

    @app.action(re.compile(rf"^{CASE_ACTION}:"))
    def on_case_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = actor(body)
        channel = action_channel(body)
        value = action.get("value")
        number, _, verb = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not (team and user and channel) or guard.small_number(number) is None:
            return
        if verb not in ("take", "wait", "resume", "resolve"):
            return
        stamp = str(action.get("action_ts") or body.get("trigger_id") or "")
        key = guard.key("button", team, user, stamp, str(action.get("action_id")))
        text = f"{verb} CASE-{int(number)}"
        store(command_row(team, user, channel, "/case", text, key, body.get("response_url")))


def register_severity_buttons(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The card's severity buttons: stored as a severity change of the case they name."""

    @app.action(re.compile(rf"^{SET_SEVERITY_ACTION}:"))
    def on_set_severity(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = actor(body)
        channel = action_channel(body)
        value = action.get("value")
        case_id, _, severity = value.partition(":") if isinstance(value, str) else ("", "", "")
        number, level = guard.small_number(case_id), guard.name(severity)
        if not (team and user and channel and number is not None and level):
            log.warning(
                "ignored a severity button from Slack: "
                "team, user, channel or value missing or malformed"
            )
            return
        action_ts = action.get("action_ts") or body.get("trigger_id") or ""
        external = (guard.user_team(body.get("user") or {}) or team) != team
        store(
            InboundRequest(
                kind=InboxKind.SET_SEVERITY,
                team_id=team,
                dedupe_key=guard.key(
                    "action", team, user, str(action_ts), str(action.get("action_id"))
                ),
                payload=guard.storable(
                    {
                        "case_id": str(number),
                        "severity": level,
                        "user_id": user,
                        "channel_id": channel,
                        "external": external,
                        "source": f"action:{action_ts}",
                    }
                ),
            )
        )


def register_page_ack(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The Acknowledge button on a page: stored as the `/case ack` it stands for."""

    @app.action(PAGE_ACK_ACTION)
    def on_page_ack(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = actor(body)
        channel = action_channel(body)
        value = action.get("value")
        number = guard.small_number(value.partition(":")[0]) if isinstance(value, str) else None
        if not (team and user and channel) or number is None:
            return
        stamp = str(action.get("action_ts") or body.get("trigger_id") or "")
        key = guard.key("button", team, user, stamp, PAGE_ACK_ACTION)
        text = f"ack CASE-{number}"
        store(command_row(team, user, channel, "/case", text, key, body.get("response_url")))


def register_feedback(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    """The rating buttons under a resolution summary: stored as a `/case rate` of the
    requester, worked like any command (so only the requester's first rating counts)."""

    def comment_modal(body: dict[str, Any], action: dict[str, Any]) -> None:
        # After the ack: the optional comment, within the trigger's 3 seconds.
        team, user = actor(body)
        channel = action_channel(body)
        value = action.get("value")
        number = guard.small_number(value.partition(":")[0]) if isinstance(value, str) else None
        if modals is not None and team and user and channel and number is not None:
            modals.feedback(team, user, channel, number, body)

    def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = actor(body)
        channel = action_channel(body)
        value = action.get("value")
        number, _, rating = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not (team and user and channel) or guard.small_number(number) is None:
            return
        if rating not in RATINGS:
            return
        trigger = body.get("trigger_id")
        key = guard.key("rate", team, user, str(action.get("action_ts") or trigger or ""))
        text = f"rate CASE-{int(number)} {rating}"
        store(
            command_row(team, user, channel, "/case", text, key, body.get("response_url"), trigger)
        )

    app.action(re.compile(rf"^{FEEDBACK_ACTION}:"))(ack=on_feedback, lazy=[comment_modal])


def register_feedback_comment(app: App, store: Callable[[InboundRequest], None]) -> None:
    @app.view(views.FEEDBACK_MODAL)
    def on_comment(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        comment = views.comment_of(view)
        team, user = actor(body)
        meta = view_meta(view)
        channel = guard.slack_id(meta.get("channel"))
        number = meta.get("case")
        if not (comment and team and user and channel and isinstance(number, int)):
            return
        key = guard.key("comment", team, user, str(view.get("id") or number))
        store(command_row(team, user, channel, "/case", f"comment CASE-{number} {comment}", key))


def register_details(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    """The "Add details" button under a case's intake ask opens its form (after the ack,
    within the trigger's 3 seconds); the form's answers are stored as a `/case details`
    of whoever sent them, worked like any command."""

    def details_modal(body: dict[str, Any], action: dict[str, Any]) -> None:
        team, user = actor(body)
        channel = action_channel(body)
        number = guard.small_number(str(action.get("value") or ""))
        if modals is not None and team and user and channel and number is not None:
            modals.details(team, channel, number, body)

    def on_details(ack: Ack) -> None:
        ack()

    app.action(views.DETAILS_ACTION)(ack=on_details, lazy=[details_modal])

    @app.view(views.DETAILS_MODAL)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        answers, errors = views.details_of(view)
        if errors:
            ack(response_action="errors", errors=errors)  # shown under the fields
            return
        ack()
        team, user = actor(body)
        meta = view_meta(view)
        channel = guard.slack_id(meta.get("channel"))
        number = meta.get("case")
        if not (team and user and channel and isinstance(number, int)):
            return
        key = guard.key("details", team, user, str(view.get("id") or number))
        text = f"details CASE-{number} {json.dumps(answers, sort_keys=True)}"
        store(command_row(team, user, channel, "/case", text, key))
