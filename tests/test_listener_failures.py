"""A request the bot could not store is never acked as if it were: Slack gets a 503 and
retries, and the log holds the traceback once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_bolt import BoltRequest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.signing import encode_event


def reaction(bot: Bot) -> dict[str, Any]:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "anything")
    return payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )


def test_a_listener_that_fails_asks_slack_to_retry_and_logs_the_traceback(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: object) -> None:
        raise ValueError("a bug in the listener")

    monkeypatch.setattr(bot.runtime, "store", broken)
    app = bot.runtime.bolt_app()
    body = encode_event(reaction(bot)).decode()
    with caplog.at_level(logging.ERROR):
        resp = app.dispatch(BoltRequest(body=body, headers={"content-type": "application/json"}))
    assert resp.status == 503
    failures = [r for r in caplog.records if r.name == "bot.slack.app"]
    assert [r.getMessage() for r in failures] == ["a listener failed: ValueError; not acked"]
    # The traceback, with the configured secrets masked (bot.logs.RedactFilter).
    trace = (failures[0].exc_text or "").splitlines()
    assert (trace[0], trace[-1]) == (
        "Traceback (most recent call last):",
        "ValueError: a bug in the listener",
    )


def test_a_request_the_inbox_refused_is_not_acked(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(_: object) -> None:
        raise ValueError("a row the database will not take")

    monkeypatch.setattr(bot.runtime.writer, "wait_async", refuse)
    with caplog.at_level(logging.ERROR):
        resp = bot.driver.event(reaction(bot))
    assert resp.status == 503
    failures = [r for r in caplog.records if r.name == "bot.web"]
    assert [r.getMessage() for r in failures] == [
        "not acking: the inbox could not store the request (ValueError: a row the database"
        " will not take)"
    ]
    trace = (failures[0].exc_text or "").splitlines()
    assert (trace[0], trace[-1]) == (
        "Traceback (most recent call last):",
        "ValueError: a row the database will not take",
    )
