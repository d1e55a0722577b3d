"""Bolt listeners: verify (bot.slack.guard, before Bolt sees the request), parse, store in
the inbox, ack. Nothing slow here: the work happens after the ack, from the inbox."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.db.errors import is_transient_db
from bot.db.states import InboxKind
from bot.inbox import InboundRequest
from bot.slack import actions, guard, slash_commands
from bot.slack.modals import Modals
from bot.slack.surface import OPEN_CASE
from bot.slack.teams import installation_team

log = logging.getLogger(__name__)

Store = Callable[[InboundRequest], None]
# Message subtypes that are a person's reply: plain (none), "also send to channel", a file.
COUNTED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# Whether a thread (team, channel, thread_ts) belongs to a case: one indexed read.


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    # The legacy verification token is a credential; it has no business in the database.
    return guard.storable({k: v for k, v in body.items() if k != "token"})


def _event_id(body: dict[str, Any], fallback: str) -> str:
    """Slack's event id, short enough for the timeline's source column."""
    event_id = body.get("event_id")
    return guard.key(event_id if isinstance(event_id, str) and event_id else fallback, limit=100)


def _event_row(
    kind: str,
    team: str,
    body: dict[str, Any],
    fallback: str,
    payload: dict[str, Any] | None = None,
) -> InboundRequest:
    """An event's inbox row, unique per workspace and Slack's event id (`fallback` stands
    in for an id Slack did not send); the whole envelope unless `payload` is given."""
    event_id = _event_id(body, fallback)
    return InboundRequest(
        kind=kind,
        team_id=team,
        dedupe_key=guard.key("event", team, event_id),
        payload={**payload, "event_id": event_id}
        if payload is not None
        else _clean({**body, "event_id": event_id}),
    )


def _ignored(what: str, why: str) -> None:
    log.warning("ignored a %s from Slack: %s", what, why)


class GuardedApp(App):
    """A Bolt app that answers every request it is given: shapes its listeners cannot use
    and requests nobody listens for are acknowledged (200) and dropped, without the
    framework's log line carrying the body, so Slack never retries them."""

    # Multi-workspace mode: whether the app is installed in a workspace. Requests from one
    # it is not installed in (any more) are acknowledged and dropped.
    installed: Callable[[str], bool] | None = None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        body = req.body
        if isinstance(body, dict) and body.get("ssl_check"):
            # Slack checking the certificate of the request URL: nothing to do but answer.
            log.info("answered Slack's ssl_check")
            return BoltResponse(status=200, body="")
        problem = guard.envelope_problem(body)
        if problem is not None:
            _ignored("request", problem)
            return BoltResponse(status=200, body="")
        if not guard.is_handled_type(body):
            return BoltResponse(status=200, body="")
        team = installation_team(body)
        if self.installed is not None and team and not self.installed(team):
            _ignored("request", f"the bot does not serve workspace {guard.name(team)}")
            return BoltResponse(status=200, body="")
        resp = super().dispatch(req)
        return BoltResponse(status=200, body="") if resp.status == 404 else resp

    def _handle_unmatched_requests(self, req: BoltRequest, resp: BoltResponse) -> BoltResponse:
        return resp  # the default logs the whole body; an unhandled request is routine


def build_app(
    *,
    signing_secret: str,
    client: WebClient,
    store: Store,
    trigger_emoji: frozenset[str],
    ack_emoji: frozenset[str] = frozenset(),
    bot_user_id: Callable[[str], str | None] = lambda team: None,
    installed: Callable[[str], bool] | None = None,
    modals: Modals | None = None,
    bot_token: str | None = None,
) -> App:
    # Listeners only store what Slack sent, so authorizing a request never calls Slack
    # (Bolt's default asks auth.test on the request path until it answers). Single-workspace
    # mode has its one token; multi-workspace mode finds each workspace's token when its
    # work is done. Whether the bot serves the request's workspace is `installed`.
    def authorize(enterprise_id: str | None, team_id: str | None, logger: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot_token,
            bot_user_id=bot_user_id(team_id or "") if bot_token else None,
        )

    with _without_env("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN"):
        app = _guarded_app(signing_secret, client, authorize)
    app.installed = installed
    _listen(app, store, trigger_emoji, ack_emoji, bot_user_id, modals)
    return app


@contextmanager
def _without_env(*names: str) -> Iterator[None]:
    """Bolt turns on its own OAuth flow (with a file installation store) when it finds
    these variables, and warns that a token it finds is unused beside `authorize`; the
    bot runs its own install flow (bot/slack/install.py) and authorizes from its settings."""
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _guarded_app(signing_secret: str, client: WebClient, authorize: Any) -> GuardedApp:
    return GuardedApp(
        # Named here: without a name, Bolt walks the whole call stack (reading source files)
        # to make one up.
        name="escalation-bot",
        signing_secret=signing_secret or "unused",
        # The listeners' client gets its token from `authorize`, per request.
        client=WebClient(
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=client.retry_handlers,
        ),
        authorize=authorize,
        # The listener's work is one insert; doing it before the response means the ack
        # is only sent once the event is safely stored.
        process_before_response=True,
        token_verification_enabled=False,
        # The web layer checks the signature on the raw bytes before anything is parsed
        # (bot.slack.guard); Socket Mode payloads carry none.
        request_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )


def _listen(
    app: App,
    store: Store,
    trigger_emoji: frozenset[str],
    ack_emoji: frozenset[str],
    bot_user_id: Callable[[str], str | None],
    modals: Modals | None = None,
) -> None:
    @app.error
    def on_error(error: Exception) -> BoltResponse:
        # Never the body. The database being away is one line; Slack retries either way.
        if is_transient_db(error):
            log.error("not acking: storage unavailable (%s)", type(error).__name__)
            return BoltResponse(status=503, body="")
        # Nothing was stored: Slack is asked to send it again, and the traceback is kept
        # (once per request) so the fault can be found.
        log.error("a listener failed: %s; not acked", type(error).__name__, exc_info=error)
        return BoltResponse(status=503, body="")

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any]) -> None:
        # A trigger reaction opens a case; an acknowledgement emoji on one of the bot's
        # messages may answer a page (the handler checks the message is one).
        reaction = guard.name(event.get("reaction"))
        if reaction in trigger_emoji:
            kind = InboxKind.REACTION_ADDED
        elif reaction in ack_emoji and event.get("item_user") in (
            bot_user_id(installation_team(body)),
            None,
        ):
            # Only the bot's own messages can be pages; while the bot's user is not known
            # yet, the handler finds out from the pages it sent.
            kind = InboxKind.PAGE_REACTION
        else:
            return
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") != "message":
            return
        team = guard.slack_id(installation_team(body))
        channel, ts = guard.slack_id(item.get("channel")), guard.slack_ts(item.get("ts"))
        user = guard.slack_id(event.get("user"))
        if not (team and channel and ts and user):
            _ignored("reaction_added", "team, channel, ts or user missing or malformed")
            return
        store(_event_row(kind, team, body, f"{event.get('event_ts')}:{user}"))

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only people's replies in a thread count, including those also sent to the channel
        # and those with a file; edits, deletions, joins and bot posts (our own included) do
        # not. Whether the thread holds a case is decided after the ack: the ack reads
        # nothing, so a lock held on `cases` elsewhere never delays it.
        if event.get("subtype") not in COUNTED_SUBTYPES or event.get("bot_id"):
            return
        if not event.get("user"):
            return
        thread = guard.slack_ts(event.get("thread_ts"))
        channel = guard.slack_id(event.get("channel"))
        ts, user = guard.slack_ts(event.get("ts")), guard.slack_id(event.get("user"))
        team = guard.slack_id(installation_team(body))
        if not thread or thread == ts or not channel:
            return
        if not (ts and user and team):
            _ignored("message", "team, ts or user missing or malformed")
            return
        store(_event_row(InboxKind.THREAD_MESSAGE, team, body, f"{ts}:{user}"))

    @app.shortcut(OPEN_CASE)
    def on_open_case_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        """ "Open a case" on a message: stored as the trigger reaction it stands for, so the
        case it opens is the same one a :ticket: on that message opens (one per message)."""
        ack()
        team = guard.slack_id(installation_team(body))
        user = guard.slack_id((body.get("user") or {}).get("id"))
        channel = guard.slack_id((body.get("channel") or {}).get("id"))
        message = body.get("message") or {}
        ts = guard.slack_ts(message.get("ts")) if isinstance(message, dict) else None
        if not (team and user and channel and ts):
            _ignored("shortcut", "team, user, channel or message missing or malformed")
            return
        trigger = str(body.get("trigger_id") or body.get("action_ts") or ts)
        event_id = guard.key("shortcut", trigger, limit=100)
        store(
            InboundRequest(
                kind=InboxKind.REACTION_ADDED,
                team_id=team,
                dedupe_key=guard.key("event", team, event_id),
                payload={
                    "event_id": event_id,
                    "event": {
                        "type": "reaction_added",
                        "user": user,
                        "reaction": "open_case shortcut",
                        "item": {"type": "message", "channel": channel, "ts": ts},
                        "item_user": guard.slack_id(message.get("user")),
                    },
                },
            )
        )

    slash_commands.register(app, store, modals)
    actions.register_buttons(app, store)
    actions.register_severity_buttons(app, store)
    actions.register_page_ack(app, store)
    actions.register_feedback(app, store, modals)
    actions.register_feedback_comment(app, store)
    actions.register_details(app, store, modals)

    @app.event("app_home_opened")
    def on_home(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return  # the Messages tab
        team, user = guard.slack_id(installation_team(body)), guard.slack_id(event.get("user"))
        if not (team and user):
            _ignored("app_home_opened", "team or user missing or malformed")
            return
        fallback = f"home:{user}:{event.get('event_ts')}"
        store(_event_row("home", team, body, fallback, payload={"user": user}))

    @app.event("app_uninstalled")
    @app.event("tokens_revoked")
    def on_uninstall(body: dict[str, Any], event: dict[str, Any]) -> None:
        team = guard.slack_id(installation_team(body))
        if not team:
            _ignored(str(event.get("type")), "team missing or malformed")
            return
        store(_event_row(InboxKind.UNINSTALLED, team, body, f"{event.get('type')}:{team}"))

    @app.event(re.compile(".*"))
    def on_other_event() -> None:
        """Events the bot does not act on (reaction_removed, app_mention, ...): acked."""
