"""The Slack app manifest asks for exactly what the code uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack import surface
from tests.conftest import Bot
from tests.test_commands import run

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "slack-manifest.yaml").read_text())


def test_the_manifest_lists_the_commands_events_and_scopes_the_code_uses() -> None:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    assert tuple(c["command"] for c in features["slash_commands"]) == surface.COMMANDS
    assert tuple(s["callback_id"] for s in features["shortcuts"]) == surface.SHORTCUTS
    assert {s["type"] for s in features["shortcuts"]} == {"message"}
    assert tuple(settings["event_subscriptions"]["bot_events"]) == surface.EVENTS
    assert tuple(MANIFEST["oauth_config"]["scopes"]["bot"]) == surface.SCOPES
    assert settings["interactivity"]["is_enabled"] is True
    urls = {c["url"] for c in features["slash_commands"]}
    urls |= {settings["event_subscriptions"]["request_url"]}
    urls |= {settings["interactivity"]["request_url"]}
    assert urls == {"https://bot.example.com/slack/events"}


def test_each_command_of_the_manifest_is_answered(bot: Bot) -> None:
    """A command the app did not register would get an empty 200; each of ours answers."""
    for command in surface.COMMANDS:
        status, ack, answers = run(bot, command, "")
        said = [ack["text"]] if ack is not None else answers
        assert status == 200 and len(said) == 1 and said[0]
