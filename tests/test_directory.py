"""Responder lookup: listed users, user-group members, and a group Slack cannot show us."""

from __future__ import annotations

from bot.slack.client import make_client
from bot.slack.directory import Directory
from tests.support.fake_slack import FakeSlack


def test_group_members_are_responders_and_an_unknown_group_has_none(slack: FakeSlack) -> None:
    slack.add_usergroup("S0SUPPORT1", ["U0MEMBER01"])
    directory = Directory(make_client(slack.token, slack.base_url))
    assert directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0MEMBER01")
    assert not directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0OUTSIDE1")
    assert directory.is_responder(("U0LISTED01",), (), "U0REQUEST1", "U0LISTED01")
    assert not directory.is_responder((), ("S0DELETED1",), "U0REQUEST1", "U0MEMBER01")
    # Nobody listed: any full member of the workspace but the requester answers for the team.
    slack.add_user("U0OUTSIDE1", "olga")
    assert directory.is_responder((), (), "U0REQUEST1", "U0OUTSIDE1", slack.team_id)
    assert not directory.is_responder((), (), "U0REQUEST1", "U0REQUEST1", slack.team_id)
    # Membership is cached: a second check does not ask Slack again.
    before = len(slack.calls("usergroups.users.list"))
    directory.is_responder((), ("S0SUPPORT1",), "U0REQUEST1", "U0MEMBER01")
    assert len(slack.calls("usergroups.users.list")) == before


def test_with_nobody_listed_guests_bots_and_other_organisations_are_not_responders(
    slack: FakeSlack,
) -> None:
    slack.add_user("U0MEMBER02", "mia")
    slack.add_user("U0GUEST001", "gus", guest=True)
    slack.add_user("U0BOTUSER1", "robot", is_bot=True)
    slack.add_user("U0GONE0001", "gone", deleted=True)
    slack.add_user("U0PARTNER1", "pat", team_id="T0PARTNER1")
    directory = Directory(make_client(slack.token, slack.base_url))
    verdicts = {
        user: directory.is_responder((), (), "U0REQUEST1", user, slack.team_id)
        for user in (
            "U0MEMBER02",
            "U0GUEST001",
            "U0BOTUSER1",
            "U0GONE0001",
            "U0PARTNER1",
            "U0UNKNOWN1",
        )
    }
    assert verdicts == {
        "U0MEMBER02": True,
        "U0GUEST001": False,
        "U0BOTUSER1": False,
        "U0GONE0001": False,
        "U0PARTNER1": False,
        "U0UNKNOWN1": False,
    }
    # Cached: asking again does not call Slack.
    before = len(slack.calls("users.info"))
    assert directory.is_responder((), (), "U0REQUEST1", "U0MEMBER02", slack.team_id)
    assert len(slack.calls("users.info")) == before


def test_a_token_slack_refuses_means_unknown_not_a_stranger(slack: FakeSlack) -> None:
    """A revoked or wrong token says nothing about the person: the work is tried again
    later, rather than the person counted as no responder (and a false breach following)."""
    import pytest

    from bot.inbox import RetryLater

    slack.add_user("U0MEMBER03", "max")
    slack.add_usergroup("S0SUPPORT2", ["U0MEMBER03"])
    directory = Directory(make_client("xoxb-revoked", slack.base_url))
    with pytest.raises(RetryLater):
        directory.is_responder((), (), "U0REQUEST1", "U0MEMBER03", slack.team_id)
    with pytest.raises(RetryLater):
        directory.is_responder((), ("S0SUPPORT2",), "U0REQUEST1", "U0MEMBER03")


def test_the_directory_follows_the_workspaces_current_token(slack: FakeSlack) -> None:
    """After a reinstall the workspace's token changes; lookups use the new one."""
    from bot.slack.intake import Intake

    clients = {"token": make_client("xoxb-old", slack.base_url)}

    class Workspaces:
        def client(self, team: str) -> object:
            return clients["token"]

    intake = Intake.__new__(Intake)
    intake.workspaces = Workspaces()  # type: ignore[assignment]
    intake._directories = {}
    first = intake.directory(slack.team_id)
    clients["token"] = make_client(slack.token, slack.base_url)
    second = intake.directory(slack.team_id)
    assert first.client.token == "xoxb-old"
    assert second.client.token == slack.token
