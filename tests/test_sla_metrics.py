"""The SLA in /metrics, and the one warning when timers fire late."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tests.conftest import ENGINEER, Bot
from tests.support.cases import open_case, say
from tests.support.metrics import metrics

DUE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def test_metrics_show_open_cases_first_responses_breaches_and_timer_lag(bot: Bot) -> None:
    before = metrics(bot)
    first = open_case(bot)
    open_case(bot)
    assert say(bot, ENGINEER, "on it", first) == 200
    bot.settle()
    bot.clock.set(DUE)  # the second case breaches, on time
    bot.settle()
    seen = metrics(bot)
    policy = "five-severities-urgent-around-the-clock"
    assert seen[f'escbot_open_cases{{policy="{policy}",severity="sev3"}}'] == 2.0

    def delta(name: str) -> float:
        return seen.get(name, 0.0) - before.get(name, 0.0)

    assert delta('escbot_first_responses_total{result="met"}') == 1.0
    assert delta('escbot_breaches_total{target="first_response"}') == 1.0
    assert delta('escbot_timer_lag_seconds_count{kind="breach"}') == 1.0
    assert delta('escbot_timer_lag_seconds_bucket{kind="breach",le="0.5"}') == 1.0


def test_late_timers_give_one_warning_and_one_all_clear(bot: Bot, caplog) -> None:
    open_case(bot)
    bot.clock.set(datetime(2026, 1, 5, 17, 0, tzinfo=UTC))  # down from before 14:00 to 17:00
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        bot.settle()
        open_case(bot)
        # Opened at 17:00: 6 core hours end at 23:00, reminder at 22:00, fired on time.
        bot.clock.set(datetime(2026, 1, 5, 22, 0, tzinfo=UTC))
        bot.settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.runtime"]
    assert lines == [
        "timers are firing 10800 s after their due time",
        "timers are firing on time again",
    ]


def test_outbox_failures_are_counted_by_intent_and_method(bot: Bot) -> None:
    before = metrics(bot)
    bot.slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    bot.slack.fail("chat.postMessage", error="channel_not_found", times=1)
    open_case(bot)
    bot.clock.advance(timedelta(seconds=1))  # the Retry-After
    bot.settle()
    seen = metrics(bot)

    def delta(name: str) -> float:
        return seen.get(name, 0.0) - before.get(name, 0.0)

    assert delta('escbot_outbox_retried_total{intent="case_card",method="chat.postMessage"}') == 1
    assert delta('escbot_outbox_failed_total{intent="case_card",method="chat.postMessage"}') == 1


def test_a_pass_books_the_next_one_and_there_is_never_a_second(bot: Bot) -> None:
    """Each pass books the next when it ends, replacing any booking: there is never more
    than one pass job, so a pass that overruns its tick never finds another one due beside
    it (APScheduler's "maximum number of running instances reached" line)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    runtime = bot.runtime
    runtime.passes.scheduler = BackgroundScheduler(timezone="UTC")
    runtime.passes.scheduler.start(paused=True)  # jobs are booked, none runs by itself
    try:
        booked = []
        for _ in range(3):
            runtime.passes.tick()
            booked.append(
                [(j.id, type(j.trigger).__name__) for j in runtime.passes.scheduler.get_jobs()]
            )
        assert booked == [[("work", "DateTrigger")]] * 3
    finally:
        runtime.passes.scheduler.shutdown(wait=False)
        runtime.passes.scheduler = None
