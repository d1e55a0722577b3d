"""The Slack app manifest asks for exactly what the code uses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.slack import surface
from tests.conftest import Bot
from tests.support.slash_commands import run

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "slack-manifest.yaml").read_text())
# Slack's published JSON schema of app manifests (tests/fixtures/SOURCE.md says where from).
SCHEMA = Path(__file__).parent / "fixtures" / "slack_manifest_schema.json"


def test_the_manifest_lists_the_commands_events_and_scopes_the_code_uses() -> None:
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    assert tuple(c["command"] for c in features["slash_commands"]) == surface.COMMANDS
    assert tuple(s["callback_id"] for s in features["shortcuts"]) == surface.SHORTCUTS
    assert {s["type"] for s in features["shortcuts"]} == {"message"}
    assert tuple(settings["event_subscriptions"]["bot_events"]) == surface.EVENTS
    assert tuple(MANIFEST["oauth_config"]["scopes"]["bot"]) == surface.SCOPES
    assert features["app_home"] == surface.APP_HOME
    assert settings["interactivity"]["is_enabled"] is True
    urls = {c["url"] for c in features["slash_commands"]}
    urls |= {settings["event_subscriptions"]["request_url"]}
    urls |= {settings["interactivity"]["request_url"]}
    assert urls == {"https://bot.example.com/slack/events"}


def test_nobody_can_write_where_the_bot_does_not_read() -> None:
    """A writable Messages tab needs `message.im`: without it, what people write there is lost."""
    app_home = surface.APP_HOME
    writable = app_home["messages_tab_enabled"] and not app_home["messages_tab_read_only_enabled"]
    assert not writable or "message.im" in surface.EVENTS


def _schema_errors(manifest: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def test_the_manifest_is_valid_by_slacks_schema() -> None:
    assert _schema_errors(MANIFEST) == []


@pytest.mark.parametrize(
    "spoil",
    [
        lambda m: m["features"]["app_home"].update(messages_tab_readonly=True),
        lambda m: m["features"]["shortcuts"][0].update(name="Open an escalation case now"),
        lambda m: m["settings"]["event_subscriptions"].update(request_url="bot.example.com"),
        lambda m: m.pop("display_information"),
    ],
)
def test_the_schema_check_catches_a_broken_manifest(spoil) -> None:
    manifest = copy.deepcopy(MANIFEST)
    spoil(manifest)
    assert _schema_errors(manifest) != []


def test_each_command_of_the_manifest_is_answered(bot: Bot) -> None:
    """A command the app did not register would get an empty 200; each of ours answers."""
    for command in surface.COMMANDS:
        status, ack, answers = run(bot, command, "")
        said = [ack["text"]] if ack is not None else answers
        assert status == 200 and len(said) == 1 and said[0]
