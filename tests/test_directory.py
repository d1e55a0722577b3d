"""Responder lookup: listed users, user-group members, and a group Slack cannot show us."""

from __future__ import annotations

from bot.slack.client import make_client
from bot.slack.directory import Directory
from bot.testing.fake_slack import FakeSlack


def test_group_members_are_responders_and_an_unknown_group_has_none(slack: FakeSlack) -> None:
    slack.add_usergroup("S0SUPPORT1", ["U0MEMBER01"])
    directory = Directory(make_client(slack.token, slack.base_url))
    assert directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0MEMBER01")
    assert not directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0OUTSIDE1")
    assert directory.is_responder(("U0LISTED01",), (), "U0REQUEST1", "U0LISTED01")
    assert not directory.is_responder((), ("S0DELETED1",), "U0REQUEST1", "U0MEMBER01")
    # Nobody listed: anyone but the requester answers for the team.
    assert directory.is_responder((), (), "U0REQUEST1", "U0OUTSIDE1")
    assert not directory.is_responder((), (), "U0REQUEST1", "U0REQUEST1")
    # Membership is cached: a second check does not ask Slack again.
    before = len(slack.calls("usergroups.users.list"))
    directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0MEMBER01")
    assert len(slack.calls("usergroups.users.list")) == before
