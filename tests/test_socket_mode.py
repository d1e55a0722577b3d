"""Socket Mode runs the same listeners as HTTP: an envelope is stored, then acked."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads


class RecordingClient:
    """Stands in for the websocket: records the acks the handler sends back."""

    logger = logging.getLogger("test.socket")

    def __init__(self) -> None:
        self.acks: list[Any] = []

    def send_socket_mode_response(self, response: Any) -> None:
        self.acks.append(response)


def test_socket_mode_envelopes_open_one_case(bot: Bot) -> None:
    handler = SocketModeHandler(
        bot.runtime.bolt_app(), app_token="xapp-1-A0-1-test", web_client=bot.runtime.client
    )
    client = RecordingClient()
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "over the websocket")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    first = payloads.socket_mode_envelope(event)
    retry = payloads.socket_mode_envelope(event, retry_attempt=1, retry_reason="timeout")
    for envelope in (first, retry):
        handler.handle(client, SocketModeRequest.from_dict(envelope))  # type: ignore[arg-type]
    assert [a.envelope_id for a in client.acks] == [first["envelope_id"], retry["envelope_id"]]
    assert bot.inbox() == 1
    bot.settle()
    [case] = bot.cases()
    assert case.message_ts == ts
    assert len([m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts]) == 1


def test_socket_mode_does_not_ack_what_it_could_not_store(bot: Bot) -> None:
    client = RecordingClient()

    def broken(_: Any) -> bool:
        raise ConnectionError("database is down")

    bot.runtime.store = broken  # type: ignore[method-assign]
    handler = SocketModeHandler(
        bot.runtime.bolt_app(), app_token="xapp-1-A0-1-test", web_client=bot.runtime.client
    )
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "lost?")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    envelope = SocketModeRequest.from_dict(payloads.socket_mode_envelope(event))
    handler.handle(client, envelope)  # type: ignore[arg-type]
    assert client.acks == []  # no ack: Slack redelivers
