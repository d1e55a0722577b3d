"""Pressing the bot's buttons through its real endpoint: a severity on a case's card, and
Acknowledge on a page."""

from __future__ import annotations

from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import SUPPORT, Bot
from tests.support import payloads
from tests.support.fake_slack import Call


def press(bot: Bot, user: str, severity: str, channel: str = SUPPORT) -> int:
    """`user` presses `severity` on the card of the only case; returns the HTTP status."""
    [case] = bot.cases()
    card = next(m for m in bot.slack.posted_messages(SUPPORT) if m.blocks)
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=f"{SET_SEVERITY_ACTION}:{severity}",
            value=f"{case.id}:{severity}",
            user=user,
            channel=channel,
            message_ts=card.ts,
            team=bot.slack.team_id,
        )
    )
    bot.settle()
    return resp.status


def press_ack(bot: Bot, call: Call, user: str) -> list[str]:
    """Press the Acknowledge button on the page `call` posted; returns the private answers."""
    [button] = [e for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert call.response is not None
    name = f"ack{len(bot.slack.calls())}"
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=button["action_id"],
            value=button["value"],
            user=user,
            channel=call.response["channel"],
            message_ts=call.response["ts"],
            team=bot.slack.team_id,
            response_url=bot.slack.response_url(name),
        )
    )
    assert resp.status == 200
    bot.settle()
    return [r["text"] for r in bot.slack.responses(name)]
