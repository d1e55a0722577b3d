"""One renderer per outbox intent: what the bot says for each, as a Web API call. Rendered
at delivery time from a plain view of the case as it is then, so a message that waited in
the outbox never shows stale state. New intents register with `@renders`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.cases.view import CaseView
from bot.outbox import Intent, Payload
from bot.policies.policy import Policy
from bot.slack import render

P = TypeVar("P", bound=Payload)
# (Web API method, its arguments)
ApiCall = tuple[str, dict[str, Any]]
# Not a Web API method: a POST of the arguments (less "url") to the "url" they name.
RESPONSE_URL = "response_url"


class Skip(Exception):
    """Nothing to send any more (e.g. a card update made moot by the card itself); the
    message, if any, is kept on the row as the reason."""


@dataclass(frozen=True)
class Outgoing:
    intent: str
    channel_id: str
    data: dict[str, Any]
    case: CaseView | None
    policy: Policy | None
    bot_user_id: Callable[[], str | None]
    # When it is rendered: the card tells a target still due from one missed.
    now: datetime | None = None
    # `data`, checked against the intent's payload class when the row was read.
    payload: Payload | None = None

    def body(self, kind: type[P]) -> P:
        """The payload, as the class the renderer expects."""
        if not isinstance(self.payload, kind):
            raise TypeError(
                f"{self.intent} carries {type(self.payload).__name__}, not {kind.__name__}"
            )
        return self.payload

    def need_case(self) -> tuple[CaseView, Policy]:
        if self.case is None or self.policy is None:
            raise Skip
        return self.case, self.policy


Renderer = Callable[[Outgoing], ApiCall]
RENDERERS: dict[str, Renderer] = {}


def renders(intent: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[intent] = fn
        return fn

    return register


def _post(o: Outgoing, text: str, **extra: Any) -> ApiCall:
    args: dict[str, Any] = {"channel": o.channel_id, "text": text, **extra}
    if o.data.get("thread_ts"):
        args["thread_ts"] = o.data["thread_ts"]
    return "chat.postMessage", args


@renders(Intent.CASE_CARD)
def case_card(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    text, blocks = render.case_card(case, policy, o.now)
    return _post(o, text, blocks=blocks)


@renders(Intent.CASE_CARD_REFRESH)
@renders(Intent.CASE_CARD_UPDATE)
def case_card_update(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    if case.card_ts is None:
        raise Skip  # the card is not out yet, and will show the new state when it is
    text, blocks = render.case_card(case, policy, o.now)
    return "chat.update", {
        "channel": case.channel_id,
        "ts": case.card_ts,
        "text": text,
        "blocks": blocks,
    }


@renders(Intent.INTAKE_ASK)
def intake_ask(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    text, blocks = render.intake_ask(case, policy)
    return _post(o, text, blocks=blocks)


@renders(Intent.TRIAGE_NOTICE)
def triage_notice(o: Outgoing) -> ApiCall:
    case, _ = o.need_case()
    return _post(o, render.triage_notice(case), unfurl_links=False)


@renders(Intent.SEVERITY_CHANGED)
def severity_changed(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    return _post(o, render.severity_changed(case, policy, o.data))


@renders(Intent.EPHEMERAL_NOTICE)
def ephemeral_notice(o: Outgoing) -> ApiCall:
    args = {"channel": o.channel_id, "user": o.data["user"], "text": o.data["text"]}
    if o.data.get("thread_ts"):
        args["thread_ts"] = o.data["thread_ts"]
    return "chat.postEphemeral", args


@renders(Intent.SLA_REMINDER)
@renders(Intent.BREACH_ALERT)
@renders(Intent.BREACH_NOTICE)
def sla_message(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    if o.intent == "sla_reminder":
        _check_still_true(o, case)
    return _post(o, render.sla_message(case, policy, o.intent, o.data))


def _check_still_true(o: Outgoing, case: CaseView) -> None:
    """A reminder that waited in the outbox (pacing, a 429, an outage) is sent only if what
    it says still holds: its clock still runs towards the same due time, not yet reached."""
    due = datetime.fromisoformat(o.data["due_at"])
    if case.status == "resolved":
        raise Skip("not sent: the case was resolved while it waited to go out")
    if case.status == "waiting":
        raise Skip("not sent: the case began waiting on the requester while it waited to go out")
    if o.data.get("target") == "first_response":
        if case.first_response_at is not None:
            raise Skip("not sent: the target was met while it waited to go out")
        current = case.first_response_due
    elif o.data.get("target") == "update_every":
        current = case.next_update_due
    else:
        current = case.next_response_due
    if current != due:
        raise Skip("not sent: the target was met or moved while it waited to go out")
    if o.now is not None and o.now >= due:
        raise Skip("not sent: its due time passed while it waited to go out")
    if o.now is not None and o.now >= reminder_deadline(due):
        raise Skip(TOO_LATE)


# A reminder is sent no later than this before its due time: the post itself takes a moment,
# and a reminder arriving as its target falls due helps nobody.
REMINDER_MARGIN = timedelta(seconds=3)
TOO_LATE = "not sent: its due time was less than 3 s away when its turn came"


def reminder_deadline(due: datetime | str) -> datetime:
    """The last instant a reminder due at `due` may still be sent."""
    when = datetime.fromisoformat(due) if isinstance(due, str) else due
    return when - REMINDER_MARGIN


@renders(Intent.DM_NOTICE)
def dm_notice(o: Outgoing) -> ApiCall:
    # A direct message names the bot, which may take an auth.test call.
    return "chat.postMessage", {
        "channel": o.channel_id,
        "text": render.dm_notice(o.data, o.bot_user_id()),
    }


@renders(Intent.CASE_CHANGED)
def case_changed(o: Outgoing) -> ApiCall:
    case, _ = o.need_case()
    return _post(o, render.case_changed(case, o.data))


@renders(Intent.RESOLUTION_SUMMARY)
def resolution_summary(o: Outgoing) -> ApiCall:
    case, policy = o.need_case()
    text = render.resolution_summary(case, policy, o.data)
    return _post(o, text, blocks=render.feedback_blocks(case, text))


@renders(Intent.COMMAND_REPLY)
def command_reply(o: Outgoing) -> ApiCall:
    """A private answer to a slash command: through its response URL, which works in
    channels the bot is not in, else as an ephemeral message."""
    text = str(o.data["text"])
    if o.data.get("response_url"):
        return RESPONSE_URL, {
            "url": o.data["response_url"],
            "text": text,
            "response_type": "ephemeral",
        }
    return "chat.postEphemeral", {"channel": o.channel_id, "user": o.data["user"], "text": text}


@renders(Intent.OPEN_VIEW)
def open_view(o: Outgoing) -> ApiCall:
    return "views.open", {"trigger_id": o.data["trigger_id"], "view": o.data["view"]}


@renders(Intent.HOME_VIEW)
def home_view(o: Outgoing) -> ApiCall:
    return "views.publish", {"user_id": o.channel_id, "view": o.data["view"]}


# Not a Web API method: slack-sdk's files_upload_v2, which makes the calls an upload takes.
FILE_UPLOAD = "files_upload_v2"


@renders(Intent.WEEKLY_REPORT)
def weekly_report(o: Outgoing) -> ApiCall:
    return FILE_UPLOAD, {
        "channel": o.channel_id,
        "file": base64.b64decode(o.data["png"]),
        "filename": o.data["filename"],
        "title": o.data["title"],
        "alt_txt": o.data["alt_text"],
        "initial_comment": o.data["text"],
    }
