"""SLA clocks as Slack users see them: reminders before a target, then the breach, for the
first response and for each next response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot, make_bot
from tests.support.cases import open_case, say
from tests.support.fake_slack import FakeSlack

ROOT = Path(__file__).parent.parent


def bot_messages(bot: Bot, root: str) -> list[str]:
    return [
        m.text
        for m in bot.slack.posted_messages(SUPPORT)
        if m.thread_ts == root and m.user == bot.slack.bot_user_id and not m.blocks
    ]


def test_a_reminder_then_a_breach_for_an_unanswered_case(bot: Bot) -> None:
    # FakeClock starts Monday 2026-01-05 09:00 UTC; SEV3 is 6h in core hours, reminder 1h
    # before: due 15:00, reminder 14:00.
    root = open_case(bot)
    [case] = bot.cases()
    assert case.first_response_due == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    bot.clock.set(datetime(2026, 1, 5, 13, 59, tzinfo=UTC))
    bot.settle()
    assert bot_messages(bot, root) == []
    bot.clock.set(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    bot.settle()
    [reminder] = bot_messages(bot, root)
    assert "first response due" in reminder
    bot.clock.set(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    bot.settle()
    assert len(bot_messages(bot, root)) == 2
    assert "missed its first response target" in bot_messages(bot, root)[1]


@pytest.fixture
def cet_bot(db_url: str, slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (ROOT / "policies/four-priorities-cet-business-hours.yaml").read_text()
    text = text.replace("channels: [C00000000A2]", f"channels: [{SUPPORT}]")
    text = text.replace("default_severity: medium", "default_severity: critical")
    # These tests follow the first and next responses alone: without the shipped update
    # cadence and intake ask (tests/test_update_cadence.py, tests/test_intake.py).
    text = re.sub(r", update_every: \w+", "", text)
    text = re.sub(r"\nintake:\n(  .*\n)+", "\n", text)
    assert ", update_every" not in text and "\nintake:" not in text
    (folder / "policy.yaml").write_text(text)
    yield from make_bot(db_url, slack, policies_path=str(folder))


def test_a_requester_message_after_the_first_reply_starts_the_next_response_clock(
    cet_bot: Bot,
) -> None:
    bot = cet_bot
    # Monday 2026-01-05 09:00 UTC is 10:00 in Berlin, inside 06:00-18:00: Critical is due
    # in 2 business hours, at 11:00 UTC.
    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=30))
    say(bot, ENGINEER, "On it", root)
    bot.settle()
    bot.clock.set(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    say(bot, CUSTOMER, "Any update?", root)
    bot.settle()
    bot.clock.advance(timedelta(minutes=20))
    say(bot, CUSTOMER, "Still down", root)  # the clock keeps running from the oldest
    bot.settle()
    # Next response: 2 business hours from 10:00 UTC = 12:00 UTC; reminders at 50% (11:00)
    # and 15m before (11:45). The first response was met, so it never alerts.
    for minute, expected in ((59, 0), (60, 1), (105, 2), (120, 3)):
        bot.clock.set(datetime(2026, 1, 5, 10, 0, tzinfo=UTC) + timedelta(minutes=minute))
        bot.settle()
        assert len(bot_messages(bot, root)) == expected, minute
    texts = bot_messages(bot, root)
    assert all("next response" in t for t in texts)
    assert "missed its next response target" in texts[-1]
    say(bot, ENGINEER, "Fixed now", root)
    bot.settle()
    bot.clock.advance(timedelta(days=5))
    bot.settle()
    assert len(bot_messages(bot, root)) == 3


def test_the_card_shows_the_due_time_in_the_calendar_s_zone(cet_bot: Bot) -> None:
    # Opened Monday 2026-01-05 09:00 UTC; Critical is 2 business hours: 11:00 UTC, which is
    # 12:00 in Berlin (CET). Slack shows each reader their own zone; the fallback is Berlin's.
    open_case(cet_bot)
    [card] = [m for m in cet_bot.slack.posted_messages(SUPPORT) if m.blocks]
    assert "|Mon 05 Jan 2026 12:00 CET>" in card.text
