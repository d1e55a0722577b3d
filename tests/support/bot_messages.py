"""Reading what the bot posted in #support: which message is a case's card or its intake
ask, the bot's other lines in a case's thread, and Slack's date tokens in its text."""

from __future__ import annotations

from tests.conftest import SUPPORT, Bot


def is_card(blocks: list | None) -> bool:
    """A case card: the message with the severity buttons."""
    return any(b.get("block_id") == "severity" for b in blocks or [])


def is_ask(blocks: list | None) -> bool:
    """The policy's intake ask, posted after the card (tests/test_intake.py has it)."""
    return any(b.get("block_id") == "intake" for b in blocks or [])


def thread_lines(bot: Bot, root: str) -> list[str]:
    """The bot's lines in a case's thread, other than its card and its intake ask."""
    return [
        m.text
        for m in bot.slack.posted_messages(SUPPORT)
        if m.thread_ts == root
        and not is_card(m.blocks)
        and not is_ask(m.blocks)
        and m.user == bot.slack.bot_user_id
    ]


def thread_texts(bot: Bot, root: str) -> list[str]:
    """The bot's messages in a case's thread that carry no blocks (its plain lines)."""
    return [
        m.text
        for m in bot.slack.posted_messages(SUPPORT)
        if m.thread_ts == root and m.user == bot.slack.bot_user_id and not m.blocks
    ]


def due(instant: str, shown: str) -> str:
    """Slack's date token for the epoch second `instant`, with `shown` as its fallback text."""
    return f"<!date^{instant}^{{date_short_pretty}} at {{time}}|{shown}>"
