"""Request signing, the driver, and the payload builders, checked against slack_sdk and Bolt.

The driver's requests go to a real Bolt app (dispatching the raw HTTP body and headers, as
any Bolt adapter does), so a payload Bolt cannot route or a signature it rejects shows here.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.clock import FakeClock
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.signing import SlackDriver, encode_form, encode_interaction, sign

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0SUPPORT"
ALICE = "U0ALICE"
# Slack's own payload examples, kept in the repository (their SOURCE.md says where each is from).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "slack"


class _Clock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


# ---------------------------------------------------------------- sign()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"type":"url_verification","challenge":"abc"}',
        encode_form({"command": "/severity", "text": "sev1 the site is down"}),
        "unicode ✓ ticket".encode(),
    ],
)
def test_sign_matches_slack_sdk(body):
    timestamp = 1_767_603_600
    headers = sign(SECRET, body, timestamp)
    verifier = SignatureVerifier(SECRET, clock=_Clock(timestamp + 30))
    assert headers["X-Slack-Request-Timestamp"] == str(timestamp)
    assert headers["X-Slack-Signature"] == verifier.generate_signature(
        timestamp=str(timestamp), body=body
    )
    assert verifier.is_valid_request(body, headers)


def test_forged_signatures_fail_verification():
    body = b'{"type":"event_callback"}'
    now = 1_767_603_600
    verifier = SignatureVerifier(SECRET, clock=_Clock(now))
    assert verifier.is_valid_request(body, sign(SECRET, body, now))
    assert not verifier.is_valid_request(body, sign("not-the-secret", body, now))
    assert not verifier.is_valid_request(body + b" ", sign(SECRET, body, now))
    assert not verifier.is_valid_request(body, sign(SECRET, body, now - 301))
    assert not verifier.is_valid_request(body, sign(SECRET, body, now + 301))
    good = sign(SECRET, body, now)
    for missing in good:
        assert not verifier.is_valid_request(body, {k: v for k, v in good.items() if k != missing})


# ---------------------------------------------------------------- a Bolt app to drive


class BoltReceiver:
    """An HTTP server that hands each request to a Bolt app and remembers what arrived."""

    def __init__(self, app: App) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                receiver.requests.append({"path": self.path, "headers": headers, "body": body})
                response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
                data = (response.body or "").encode()
                self.send_response(response.status)
                for name, values in response.headers.items():
                    if name.lower() != "content-length":
                        for value in values:
                            self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.add_user(ALICE, "alice")
        fake.add_channel(CHANNEL, "support", members=[ALICE])
        yield fake


@pytest.fixture
def seen():
    return []


@pytest.fixture
def app(fake, seen):
    app = App(
        client=WebClient(token=fake.token, base_url=fake.base_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.event("reaction_added")
    def on_reaction(event, context, client, request):
        seen.append(
            {
                "kind": "reaction",
                "event": event,
                "team_id": context.team_id,
                "bot_user_id": context.bot_user_id,
                "retry_num": (request.headers.get("x-slack-retry-num") or [None])[0],
            }
        )
        item = event["item"]
        client.chat_postMessage(channel=item["channel"], thread_ts=item["ts"], text="case opened")

    @app.event("reaction_removed")
    def on_unreaction(event):
        seen.append({"kind": "unreaction", "event": event})

    @app.event("message")
    def on_message(event):
        seen.append({"kind": "message", "event": event})

    @app.command("/severity")
    def on_command(ack, command, respond):
        ack("Severity noted")
        respond(f"Severity set to {command['text']}")
        seen.append({"kind": "command", "command": command})

    @app.action("set_severity")
    def on_action(ack, body, action, respond):
        ack()
        respond(text=f"severity {action['value']}", replace_original=False)
        seen.append({"kind": "action", "body": body})

    @app.view("case_modal")
    def on_view(ack, view):
        ack()
        seen.append({"kind": "view", "values": view["state"]["values"]})

    return app


@pytest.fixture
def receiver(app):
    receiver = BoltReceiver(app)
    yield receiver
    receiver.close()


@pytest.fixture
def driver(receiver):
    return SlackDriver(receiver.url, SECRET)


# ---------------------------------------------------------------- driving Bolt


def test_url_verification(driver, receiver):
    response = driver.event(payloads.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdA"))
    assert response.status == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdA"}
    assert receiver.requests[0]["path"] == "/slack/events"


def test_reaction_added_reaches_bolt_which_answers_through_the_fake(fake, driver, receiver, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "the site is down")
    event = payloads.reaction_added(fake.team_id, CHANNEL, ts, "U0BOB", item_user=ALICE)
    response = driver.event(event)
    assert response.status == 200

    arrived = receiver.requests[0]
    assert arrived["headers"]["Content-Type"] == "application/json"
    assert json.loads(arrived["body"]) == event
    [handled] = seen
    assert handled["event"]["item"] == {
        "type": "message",
        "channel": CHANNEL,
        "ts": ts,
        "channel_type": "channel",
    }
    assert handled["team_id"] == fake.team_id
    assert handled["bot_user_id"] == fake.bot_user_id
    assert handled["retry_num"] is None
    [reply] = fake.posted_messages(CHANNEL)
    assert reply.thread_ts == ts


def test_retries_carry_slack_retry_headers(fake, driver, receiver, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "help")
    event = payloads.reaction_added(fake.team_id, CHANNEL, ts, ALICE)
    assert driver.event(event).status == 200
    assert driver.event(event, retry_num=1, retry_reason="http_timeout").status == 200
    assert driver.event(event, retry_num=2).status == 200
    retry_headers = [
        (r["headers"].get("X-Slack-Retry-Num"), r["headers"].get("X-Slack-Retry-Reason"))
        for r in receiver.requests
    ]
    assert retry_headers == [(None, None), ("1", "http_timeout"), ("2", "http_timeout")]
    assert [s["retry_num"] for s in seen] == [None, "1", "2"]
    assert len({json.loads(r["body"])["event_id"] for r in receiver.requests}) == 1


def test_event_ids_are_unique_per_built_event():
    ids = {payloads.reaction_added("T1", "C1", "1.000001", "U1")["event_id"] for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("Ev") for i in ids)


def test_reaction_removed_and_thread_reply_message(fake, driver, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "parent")
    reply_ts = fake.post_user_message(CHANNEL, "U0BOB", "reply", thread_ts=ts)
    removed = payloads.reaction_removed(fake.team_id, CHANNEL, ts, ALICE, item_user=ALICE)
    reply = payloads.message(
        fake.team_id, CHANNEL, reply_ts, "U0BOB", "reply", thread_ts=ts, parent_user_id=ALICE
    )
    assert driver.event(removed).status == 200
    assert driver.event(reply).status == 200
    assert [s["kind"] for s in seen] == ["unreaction", "message"]
    message = seen[1]["event"]
    assert "subtype" not in message
    assert message["thread_ts"] == ts != message["ts"]
    assert message["parent_user_id"] == ALICE


def test_slack_connect_event_authorizes_our_install(fake, driver, seen):
    ts = fake.post_user_message(CHANNEL, "U0EXT", "from the partner org", team="T0PARTNER")
    event = payloads.reaction_added(
        "T0PARTNER",
        CHANNEL,
        ts,
        "U0EXT",
        authorization_team=fake.team_id,
        is_ext_shared_channel=True,
    )
    assert event["team_id"] == "T0PARTNER"
    assert event["authorizations"][0]["team_id"] == fake.team_id
    assert driver.event(event).status == 200
    assert seen[0]["team_id"] == fake.team_id


def test_slash_command_is_form_encoded_and_acked(fake, driver, receiver, seen):
    form = payloads.slash_command(
        "/severity",
        "sev1",
        user_id=ALICE,
        channel_id=CHANNEL,
        response_url=fake.response_url("command"),
    )
    response = driver.command(form)
    assert response.status == 200
    assert response.text == "Severity noted"
    arrived = receiver.requests[0]
    assert arrived["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(arrived["body"].decode()).items()} == form
    assert seen[0]["command"]["text"] == "sev1"
    assert fake.responses("command") == [{"text": "Severity set to sev1"}]


def test_block_actions_and_view_submission(fake, driver, receiver, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "help")
    click = payloads.block_actions(
        "set_severity",
        "sev2",
        ALICE,
        CHANNEL,
        ts,
        fake.team_id,
        response_url=fake.response_url("click"),
        message=fake.message(CHANNEL, ts).to_api(),
    )
    assert driver.interaction(click).status == 200
    body = seen[0]["body"]
    assert body["container"]["message_ts"] == ts and body["channel"]["id"] == CHANNEL
    assert body["message"]["text"] == "help"
    assert fake.responses("click") == [{"text": "severity sev2", "replace_original": False}]
    form = parse_qs(receiver.requests[0]["body"].decode())
    assert list(form) == ["payload"] and json.loads(form["payload"][0]) == click

    values = {"sev": {"pick": {"type": "static_select", "selected_option": {"value": "sev1"}}}}
    submitted = payloads.view_submission("case_modal", values, ALICE, fake.team_id)
    assert driver.interaction(submitted).status == 200
    assert seen[1]["values"] == values


# ---------------------------------------------------------------- forged requests


def test_forged_requests_are_rejected_by_bolt(fake, driver, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "help")
    event = payloads.reaction_added(fake.team_id, CHANNEL, ts, ALICE)
    stale = int((datetime.now(UTC) - timedelta(minutes=10)).timestamp())
    assert driver.event(event, secret="someone-elses-secret").status == 401
    assert driver.event(event, timestamp=stale).status == 401
    assert driver.event(event, omit=["X-Slack-Signature"]).status == 401
    assert driver.event(event, omit=["X-Slack-Request-Timestamp"]).status == 401
    assert (
        driver.command(payloads.slash_command(user_id=ALICE, channel_id=CHANNEL), secret="x").status
        == 401
    )

    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **driver.signed_headers(body)}
    assert driver.raw(body + b" ", headers).status == 401
    assert driver.raw(body, headers).status == 200
    assert len(seen) == 1


def test_driver_signs_with_its_clock(receiver):
    # Bolt checks timestamps against real time, so a driver on a frozen past clock is refused.
    frozen = SlackDriver(receiver.url, SECRET, FakeClock(datetime(2020, 1, 1, tzinfo=UTC)))
    assert frozen.event(payloads.url_verification("x")).status == 401
    assert frozen.timestamp() == int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())


def test_interaction_body_is_payload_form_field():
    payload = {"type": "block_actions", "actions": [{"value": "a&b=c d"}]}
    form = parse_qs(encode_interaction(payload).decode())
    assert json.loads(form["payload"][0]) == payload


# ---------------------------------------------------------------- socket mode


def test_socket_mode_envelope_runs_through_bolt(fake, app, seen):
    ts = fake.post_user_message(CHANNEL, ALICE, "help")
    event = payloads.reaction_added(fake.team_id, CHANNEL, ts, ALICE)
    envelope = payloads.socket_mode_envelope(event, retry_attempt=1, retry_reason="timeout")
    request = SocketModeRequest.from_dict(json.loads(json.dumps(envelope)))
    assert request is not None and request.retry_attempt == 1
    assert run_bolt_app(app, request).status == 200
    assert seen[0]["retry_num"] == "1"
    command = payloads.socket_mode_envelope(
        payloads.slash_command(user_id=ALICE, channel_id=CHANNEL), type="slash_commands"
    )
    assert command["accepts_response_payload"] is True and "retry_attempt" not in command


# ---------------------------------------------------------------- shapes against Slack's fixtures


def _paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        out = set()
        for key, inner in value.items():
            out |= {f"{prefix}{key}"} | _paths(inner, f"{prefix}{key}.")
        return out
    if isinstance(value, list) and value:
        return _paths(value[0], f"{prefix}0.")
    return set()


def _fixture(name: str) -> Any:
    path = FIXTURES / name
    # A missing fixture is a broken checkout, not a reason to test less.
    assert path.is_file(), f"{path} is missing: the tests need tests/fixtures/slack/{name}"
    return json.loads(path.read_text())


@pytest.mark.parametrize(
    ("fixture", "built"),
    [
        (
            "event_reaction_added.json",
            lambda: payloads.reaction_added("T1", "C1", "1.2", "U1", item_user="U2"),
        ),
        (
            "event_reaction_removed.json",
            lambda: payloads.reaction_removed("T1", "C1", "1.2", "U1", item_user="U2"),
        ),
        (
            "event_message_channels_docs.json",
            lambda: payloads.message("T1", "C1", "1.2", "U1", "hi"),
        ),
        (
            "event_message_thread_reply_bolt.json",
            lambda: payloads.message(
                "T1",
                "D1",
                "1.3",
                "U1",
                "hi",
                thread_ts="1.2",
                parent_user_id="U2",
                channel_type="im",
                user_team="T1",
                enterprise_id="E1",
            ),
        ),
        ("event_url_verification.json", lambda: payloads.url_verification()),
        ("event_app_rate_limited.json", lambda: payloads.app_rate_limited()),
        (
            "interactivity_block_actions.json",
            lambda: payloads.block_actions("a", "v", "U1", "C1", "1.2", enterprise_id="E1"),
        ),
        (
            "interactivity_view_submission.json",
            lambda: payloads.view_submission("cb", {}, "U1", enterprise_id="E1"),
        ),
        (
            "socket_mode_events_api_envelope_retry.json",
            lambda: payloads.socket_mode_envelope(
                payloads.message("T1", "C1", "1.2", "U1", "hi", blocks=[{"type": "rich_text"}])
            ),
        ),
    ],
)
def test_builders_cover_the_fixture_fields(fixture, built):
    expected = _paths(_fixture(fixture))
    # Fields a builder leaves to the caller, or which Slack fills only in some workspaces.
    optional = ("event_context", "payload.event_context", "event.user_profile")
    # Block contents are whatever the caller passes.
    optional += ("payload.event.blocks.", "view.blocks.", "view.state.values.")
    missing = expected - _paths(built())
    assert {p for p in missing if not p.startswith(optional)} == set()


def test_slash_command_has_the_fixture_fields():
    parsed = _fixture("slash_command.json")["parsed"]
    form = payloads.slash_command(
        "/weather", "94070", user_id="U1", channel_id="C1", enterprise_id="E1"
    )
    assert list(form) == list(parsed)
