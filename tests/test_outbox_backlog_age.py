"""How far behind the outbox is, per priority: `escbot_outbox_oldest_seconds` on /metrics
moves as rows wait and drops when they go, and the log says once that pages or breach
alerts are late, and once that they are not any more. On the fast clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Bot
from tests.support.cases import open_case
from tests.support.metrics import metrics

AFTER_BREACH = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
PRIORITIES = ("pages", "cards", "breaches", "reminders", "updates", "echoes")


def ages(bot: Bot) -> dict[str, float]:
    found = metrics(bot)
    return {p: found[f'escbot_outbox_oldest_seconds{{priority="{p}"}}'] for p in PRIORITIES}


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the bot logged about its outbox's backlog."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.runtime" and r.getMessage().startswith("the outbox")
    ]


def test_backlog_ages_rise_while_slack_refuses_and_fall_when_it_is_back(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.runtime")
    open_case(bot)
    assert ages(bot) == dict.fromkeys(PRIORITIES, 0.0)
    # Slack refuses every post for a while: the breach alerts due at 16:00 cannot go.
    bot.slack.fail("chat.postMessage", status=429, retry_after=5, times=1000)
    bot.clock.set(AFTER_BREACH)
    bot.settle()
    assert ages(bot)["breaches"] == 0.0
    zero = dict.fromkeys(PRIORITIES, 0.0)
    bot.clock.advance(timedelta(seconds=20))
    bot.runtime.passes.run_once()
    assert ages(bot) == {**zero, "breaches": 20.0}
    assert said(caplog) == []
    bot.clock.advance(timedelta(seconds=15))
    bot.runtime.passes.run_once()
    assert ages(bot) == {**zero, "breaches": 35.0}
    assert said(caplog) == ["the outbox is behind: the oldest breach alert has waited 35 s"]
    # Still behind: said once, not again.
    bot.clock.advance(timedelta(seconds=10))
    bot.runtime.passes.run_once()
    assert ages(bot) == {**zero, "breaches": 45.0}
    assert len(said(caplog)) == 1
    # Slack takes posts again; the alerts go, and the log says the outbox caught up.
    bot.slack.reset()
    bot.clock.advance(timedelta(seconds=10))
    bot.settle()
    assert ages(bot) == zero
    assert said(caplog) == [
        "the outbox is behind: the oldest breach alert has waited 35 s",
        "the outbox has caught up: no page or breach alert has waited over 30 s",
    ]
