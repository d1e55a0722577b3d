"""Slash commands through the bot's real endpoint, form-encoded and signed as Slack sends
them."""

from __future__ import annotations

from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support import payloads


def run(bot: Bot, command: str, text: str, user: str = ENGINEER, channel: str = SUPPORT):
    """Send a slash command; returns (HTTP status, the ack's JSON or None, the private
    answers that came through the response URL after the work was done)."""
    name = f"r{len(bot.slack.calls())}"
    form = payloads.slash_command(
        command,
        text,
        user_id=user,
        channel_id=channel,
        team_id=bot.slack.team_id,
        response_url=bot.slack.response_url(name),
    )
    resp = bot.driver.command(form)
    bot.settle()
    ack = resp.json() if resp.body else None
    return resp.status, ack, [r["text"] for r in bot.slack.responses(name)]
