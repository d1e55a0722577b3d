"""The door against hostile and clumsy input, through the real endpoint: every request gets a
definite answer (401, 413, 400 or 200; never a 5xx for input), at most one short log line,
no request body in the log, and the bot keeps working afterwards."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Case, InboxEvent
from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.fake_slack import DEFAULT_TEAM_ID
from tests.support.logscan import BODY_MARKER
from tests.support.server import SIGNING_SECRET
from tests.support.signing import encode_form, encode_interaction
from tests.test_commands import is_card

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# A short log line: a sentence naming the problem, nothing quoted from the request.
MAX_LINE = 200


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


@dataclass(frozen=True)
class Case_:
    name: str
    body: bytes
    content_type: str
    headers: Callable[[bytes], dict[str, str]]
    status: int


def _unsigned(body: bytes) -> dict[str, str]:
    return {}


def _bad_secret(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(b"not the secret", f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def _timestamp(value: str) -> Callable[[bytes], dict[str, str]]:
    # The signature is computed over the same malformed timestamp, as a forger would.
    return lambda body: signed(body, value)


def _signature(value: str) -> Callable[[bytes], dict[str, str]]:
    return lambda body: {**signed(body), "X-Slack-Signature": value}


def _event(event: Any, **envelope: Any) -> bytes:
    body = {
        "token": "verification_token",
        # The stand-in's workspace: the bot drops requests for any other.
        "team_id": DEFAULT_TEAM_ID,
        "api_app_id": "A0FAKEAPP1",
        "type": "event_callback",
        "event_id": "Ev0HOSTILE1",
        "event_time": 1700000000,
        "event": event,
        **envelope,
    }
    return json.dumps(body).encode()


def _reaction(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "reaction_added",
        "user": ENGINEER,
        "reaction": "ticket",
        "item": {"type": "message", "channel": SUPPORT, "ts": "1700000000.000100"},
        "event_ts": "1700000001.000200",
        "text": BODY_MARKER,
    }
    return {**base, **fields}


def _action(**fields: Any) -> bytes:
    body = payloads.block_actions(
        action_id=f"{SET_SEVERITY_ACTION}:sev1",
        value="1:sev1",
        user=ENGINEER,
        channel=SUPPORT,
        message_ts="1700000000.000100",
    )
    body["marker"] = BODY_MARKER
    for key, value in fields.items():
        body[key] = value
    return encode_interaction(body)


def _button_value(value: str) -> bytes:
    body = payloads.block_actions(
        action_id=f"{SET_SEVERITY_ACTION}:sev1",
        value=value,
        user=ENGINEER,
        channel=SUPPORT,
        message_ts="1700000000.000100",
    )
    return encode_interaction(body)


DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_NUMBER = b'{"type": "event_callback", "n": ' + b"9" * 10_000 + b"}"
BODIES: list[tuple[str, bytes, str]] = [
    ("invalid JSON", b'{"type": "event_callback", "' + BODY_MARKER.encode(), JSON),
    ("JSON array", b'["' + BODY_MARKER.encode() + b'"]', JSON),
    ("JSON scalar", b"42", JSON),
    ("100,000-deep nesting", DEEP, JSON),
    ("10,000-digit number", HUGE_NUMBER, JSON),
    ("not UTF-8", b'{"text": "\xff\xfe' + BODY_MARKER.encode() + b'"}', JSON),
    ("garbage form payload", b"payload=%7Bnot+json+" + BODY_MARKER.encode(), FORM),
    ("form payload that is a list", encode_form({"payload": "[1, 2]"}), FORM),
]

CASES: list[Case_] = [
    # Unsigned, forged or malformed in their headers: 401 before any decoding.
    *(Case_(f"unsigned {n}", b, ct, _unsigned, 401) for n, b, ct in BODIES),
    *(Case_(f"wrong secret, {n}", b, ct, _bad_secret, 401) for n, b, ct in BODIES[:3]),
    Case_("timestamp not a number", _event(_reaction()), JSON, _timestamp("soon"), 401),
    Case_("fractional timestamp", _event(_reaction()), JSON, _timestamp("1700000000.5"), 401),
    Case_("5,000-digit timestamp", _event(_reaction()), JSON, _timestamp("9" * 5000), 401),
    Case_("negative timestamp", _event(_reaction()), JSON, _timestamp("-1"), 401),
    Case_("stale timestamp", _event(_reaction()), JSON, _timestamp("1000000000"), 401),
    Case_("empty timestamp", _event(_reaction()), JSON, _timestamp(""), 401),
    Case_("signature not hex", _event(_reaction()), JSON, _signature("v0=" + "z" * 64), 401),
    Case_("signature of another scheme", _event(_reaction()), JSON, _signature("v1=abc"), 401),
    Case_(
        "signature 5,000 characters", _event(_reaction()), JSON, _signature("v0=" + "a" * 5000), 401
    ),
    # Correctly signed but unreadable: 400.
    *(Case_(f"signed {n}", b, ct, signed, 400) for n, b, ct in BODIES),
    # Correctly signed, readable, but not a shape the bot can use: acknowledged and dropped.
    Case_("event null", _event(None), JSON, signed, 200),
    Case_("event a string", _event(BODY_MARKER), JSON, signed, 200),
    Case_("event without a type", _event({"user": ENGINEER}), JSON, signed, 200),
    Case_(
        "envelope without event", json.dumps({"type": "event_callback"}).encode(), JSON, signed, 200
    ),
    Case_("reaction a list", _event(_reaction(reaction=["ticket"])), JSON, signed, 200),
    Case_("item a string", _event(_reaction(item=BODY_MARKER)), JSON, signed, 200),
    Case_("user a number", _event(_reaction(user=12)), JSON, signed, 400),
    Case_("user a dict", _event(_reaction(user={"id": ENGINEER})), JSON, signed, 200),
    Case_(
        "channel id too long",
        _event(_reaction(item={"type": "message", "channel": "C" * 300, "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Case_(
        "channel id with NUL",
        _event(_reaction(item={"type": "message", "channel": "C0\x00", "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Case_(
        "channel id a lone surrogate",
        _event(_reaction(item={"type": "message", "channel": "C0\ud800", "ts": "1.2"})),
        JSON,
        signed,
        200,
    ),
    Case_(
        "ts not a ts",
        _event(_reaction(item={"type": "message", "channel": SUPPORT, "ts": "²"})),
        JSON,
        signed,
        200,
    ),
    Case_(
        "authorizations a string",
        _event(_reaction(), authorizations=BODY_MARKER),
        JSON,
        signed,
        400,
    ),
    Case_("event_id 5,000 characters", _event(_reaction(), event_id="E" * 5000), JSON, signed, 200),
    Case_(
        "app_mention",
        _event({"type": "app_mention", "user": ENGINEER, "text": BODY_MARKER}),
        JSON,
        signed,
        200,
    ),
    Case_("unknown event", _event({"type": "no_such_event", "x": BODY_MARKER}), JSON, signed, 200),
    Case_(
        "unknown request type",
        json.dumps({"type": "mystery", "x": BODY_MARKER}).encode(),
        JSON,
        signed,
        200,
    ),
    Case_("app_rate_limited", json.dumps(payloads.app_rate_limited()).encode(), JSON, signed, 200),
    Case_("actions empty", _action(actions=[]), FORM, signed, 200),
    Case_("actions a string", _action(actions=BODY_MARKER), FORM, signed, 200),
    Case_("action without action_id", _action(actions=[{"value": "1:sev1"}]), FORM, signed, 200),
    Case_("user a string in an action", _action(user=BODY_MARKER), FORM, signed, 200),
    Case_("container a string", _action(container=BODY_MARKER), FORM, signed, 200),
    Case_(
        "unknown action", _action(actions=[{"action_id": "nope", "value": "x"}]), FORM, signed, 200
    ),
    Case_("25-digit case id", _button_value("1" * 25 + ":sev1"), FORM, signed, 200),
    Case_("superscript digit case id", _button_value("²:sev1"), FORM, signed, 200),
    Case_("severity with NUL", _button_value("1:sev\x001"), FORM, signed, 200),
    Case_(
        "unknown slash command",
        encode_form(
            payloads.slash_command("/nope", BODY_MARKER, user_id=ENGINEER, channel_id=SUPPORT)
        ),
        FORM,
        signed,
        200,
    ),
    Case_(
        "view_submission with view a string",
        encode_interaction(
            {"type": "view_submission", "view": BODY_MARKER, "user": {"id": ENGINEER}}
        ),
        FORM,
        signed,
        200,
    ),
    Case_(
        "challenge not a string",
        json.dumps({"type": "url_verification", "challenge": [1]}).encode(),
        JSON,
        signed,
        200,
    ),
]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or record.exc_text:
            text += "\n<traceback>"
        self.lines.append(text)


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def post(bot: Bot, case: Case_) -> int:
    headers = {"Content-Type": case.content_type, **case.headers(case.body)}
    return bot.driver.raw(case.body, headers).status


def test_every_hostile_input_gets_a_definite_answer_and_one_short_line(
    bot: Bot, lines: Lines
) -> None:
    got: dict[str, tuple[int, list[str]]] = {}
    for case in CASES:
        before = len(lines.lines)
        status = post(bot, case)
        bot.settle()
        got[case.name] = (status, lines.lines[before:])
    wrong = {n: s for n, (s, _) in got.items() if s != {c.name: c.status for c in CASES}[n]}
    assert wrong == {}
    chatty = {n: ls for n, (_, ls) in got.items() if len(ls) > 1}
    assert chatty == {}
    long_or_traced = [
        line for _, ls in got.values() for line in ls if len(line) > MAX_LINE or "\n" in line
    ]
    assert long_or_traced == []
    assert not any(BODY_MARKER in line for _, ls in got.values() for line in ls)
    # Nothing that was refused or dropped reached the inbox or opened a case; the one
    # well-formed reaction (with a 5,000-character event_id) was stored under a key that
    # fits its column, and its message does not exist, so no case opened.
    with bot.runtime.sessions() as session:
        [row] = session.execute(select(InboxEvent)).scalars()
        assert (row.status, len(row.dedupe_key)) == ("done", 116)
    assert bot.cases() == []

    # After the whole barrage a good reaction still opens a case and gets its card.
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "after the storm")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    [opened] = bot.cases()
    assert opened.message_ts == ts
    cards = [
        m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts and is_card(m.blocks)
    ]
    assert len(cards) == 1


def test_a_refused_request_logs_one_line_naming_the_problem(bot: Bot, lines: Lines) -> None:
    body = _event(_reaction())
    assert bot.driver.raw(body, {"Content-Type": JSON}).status == 401
    assert lines.lines == ["refused an unverified request: missing signature headers"]
    lines.lines.clear()
    assert bot.driver.raw(body, {"Content-Type": JSON, **_timestamp("abc")(body)}).status == 401
    assert lines.lines == ["refused an unverified request: malformed timestamp header"]
    lines.lines.clear()
    assert bot.driver.raw(body, {"Content-Type": JSON, **_bad_secret(body)}).status == 401
    assert lines.lines == ["refused an unverified request: signature mismatch"]
    lines.lines.clear()
    assert bot.driver.raw(b"[1]", {"Content-Type": JSON, **signed(b"[1]")}).status == 400
    assert lines.lines == [
        "refused a signed request whose body cannot be read: AttributeError: "
        "'list' object has no attribute 'get'"
    ]
    lines.lines.clear()
    assert (
        bot.driver.raw(_event(None), {"Content-Type": JSON, **signed(_event(None))}).status == 200
    )
    assert lines.lines == ["ignored a request from Slack: event is not an object with a type"]


def test_text_that_no_column_takes_is_stored_cleaned_not_refused(bot: Bot) -> None:
    """A NUL or a lone surrogate in a message's text (not in an id) is replaced, so the
    reaction still opens its case on both databases rather than failing the insert."""
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "broken")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    event["event"]["note"] = "nul\x00 and lone \ud800 surrogate"
    body = json.dumps(event).encode()
    assert bot.driver.raw(body, {"Content-Type": JSON, **signed(body)}).status == 200
    bot.settle()
    with bot.runtime.sessions() as session:
        [row] = session.execute(select(InboxEvent)).scalars()
        assert row.payload["event"]["note"] == "nul\ufffd and lone \ufffd surrogate"
        assert row.status == "done"
        assert session.execute(select(Case.message_ts)).scalar_one() == ts
