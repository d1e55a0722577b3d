"""The "Open a case" message shortcut does what the :ticket: reaction does, on the same
exactly-once key: one case per message, whichever comes first and however often."""

from __future__ import annotations

from typing import Any

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads


def shortcut(bot: Bot, ts: str, text: str, user: str = ENGINEER) -> dict[str, Any]:
    """A message_action payload in the shape of Slack's shortcuts reference."""
    return {
        "type": "message_action",
        "token": payloads.VERIFICATION_TOKEN,
        "action_ts": payloads.new_ts(),
        "team": {"id": bot.slack.team_id, "domain": "example"},
        "user": {"id": user, "username": "sam", "team_id": bot.slack.team_id, "name": "sam"},
        "channel": {"id": SUPPORT, "name": "support"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": "open_case",
        "trigger_id": payloads.new_trigger_id(),
        "response_url": bot.slack.response_url("shortcut"),
        "message_ts": ts,
        "message": {"type": "message", "user": CUSTOMER, "ts": ts, "text": text},
    }


def test_the_shortcut_opens_the_case_the_reaction_would_and_only_one(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "the API is down")
    assert bot.driver.interaction(shortcut(bot, ts, "the API is down")).status == 200
    bot.settle()
    [case] = bot.cases()
    assert (case.message_ts, case.requester_id, case.opened_by) == (ts, CUSTOMER, ENGINEER)
    # The shortcut again, and the emoji too: still the one case, and one card.
    assert bot.driver.interaction(shortcut(bot, ts, "the API is down")).status == 200
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=CUSTOMER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert len(bot.cases()) == 1
    cards = [m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts and m.blocks]
    assert len(cards) == 1
