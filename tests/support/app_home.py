"""The App Home tab as a user opens it, through the bot's real endpoint."""

from __future__ import annotations

from typing import Any

from tests.conftest import Bot
from tests.support import payloads


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    """`user` opens the bot's Home tab; returns the view the bot published for them."""
    event = payloads.event_callback(
        bot.slack.team_id,
        {"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": "home"},
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    view = bot.slack.home_view(user)
    assert view is not None
    return view
