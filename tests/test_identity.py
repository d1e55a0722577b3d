"""Learning the bot token's workspace in the background: what the runtime does once it is
known may fail (the database away, a process stopping) without the learning failing."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.slack.identity import Identity, Who
from tests.support.fake_slack import FakeSlack


def test_a_failure_to_act_on_the_learned_workspace_is_one_error_line(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    identity = Identity(WebClient(token=slack.token, base_url=slack.base_url))

    def database_away(who: Who) -> None:
        raise ConnectionError("the database went away")

    identity.on_learned = database_away
    with caplog.at_level(logging.ERROR, logger="bot.slack.identity"):
        who = identity.learn()
    assert who == Who(slack.team_id, slack.bot_user_id)
    assert identity.known == who
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"could not record that workspace {slack.team_id} is served again:"
        " ConnectionError: the database went away"
    ]


def test_a_stopping_process_does_not_act_on_the_learned_workspace(slack: FakeSlack) -> None:
    identity = Identity(WebClient(token=slack.token, base_url=slack.base_url))
    told: list[Who] = []
    identity.on_learned = told.append
    identity.stop()
    assert identity.learn() is not None
    assert told == []
