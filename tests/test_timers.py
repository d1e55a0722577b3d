"""Breach alerts: fired once when a target passes unmet, never after it was met."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.conftest import ENGINEER, SUPPORT, TRIAGE, Bot
from tests.support.buttons import press
from tests.support.cases import open_case, say


def alerts(bot: Bot, channel: str = SUPPORT) -> list:
    return [m for m in bot.slack.posted_messages(channel) if "missed its" in m.text]


def test_an_unanswered_case_gets_one_breach_alert(bot: Bot) -> None:
    root = open_case(bot)
    [case] = bot.cases()
    assert case.first_response_due is not None
    bot.clock.set(case.first_response_due - timedelta(seconds=1))
    bot.settle()
    assert alerts(bot) == []
    bot.clock.set(case.first_response_due)
    # Two replicas ticking at the same moment still fire the timer once.
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: bot.runtime.run_once(), range(3)))
    bot.settle()
    [alert] = alerts(bot)
    assert alert.thread_ts == root and "CASE-1" in alert.text and "first response" in alert.text
    assert len(alerts(bot, TRIAGE)) == 1
    bot.clock.advance(timedelta(days=3))
    bot.settle()
    assert len(alerts(bot)) == 1


def test_a_case_answered_in_time_is_never_alerted(bot: Bot) -> None:
    root = open_case(bot)
    assert say(bot, ENGINEER, "on it", root) == 200
    bot.settle()
    bot.clock.advance(timedelta(days=7))
    bot.settle()
    assert alerts(bot) == []


def test_raising_severity_past_its_target_is_a_breach_at_once(bot: Bot) -> None:
    open_case(bot)
    [case] = bot.cases()
    policy = bot.runtime.policies.for_channel(SUPPORT)
    urgent = policy.ordered_severities[0]
    target = policy.target(urgent.id, "first_response")
    assert target is not None and case.first_response_due is not None
    # Later than the urgent target but before the current one.
    bot.clock.advance(target + timedelta(minutes=1))
    assert bot.clock.now() < case.first_response_due
    assert press(bot, ENGINEER, urgent.id) == 200
    [case] = bot.cases()
    assert case.severity == urgent.id
    assert case.first_response_due == case.opened_at + target
    assert len(alerts(bot)) == 1
    assert any(c.ok for c in bot.slack.calls("chat.update"))
