"""Who may change a case's severity with the card's buttons, and what others are told."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot, make_bot
from tests.support import payloads
from tests.support.buttons import press
from tests.support.cases import open_case, say
from tests.support.fake_slack import FakeSlack

ROOT = Path(__file__).parent.parent
ONCALL_GROUP = "S0ONCALL01"
ONCALL_MEMBER = "U0ONCALL01"
BYSTANDER = "U0BYSTAND1"


@pytest.fixture
def policies_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (ROOT / "policies/five-severities-urgent-around-the-clock.yaml").read_text()
    listed = "requester_may_set_severity: [sev1, sev2]"
    assert listed in text
    text = text.replace(
        listed,
        f"{listed}\nresponders: {{users: [{ENGINEER}], groups: [{ONCALL_GROUP}]}}",
    )
    (folder / "policy.yaml").write_text(text)
    return folder


@pytest.fixture
def team_bot(db_url: str, slack: FakeSlack, policies_dir: Path) -> Iterator[Bot]:
    slack.add_user(ONCALL_MEMBER, "olive", "Olive (on call)")
    slack.add_user(BYSTANDER, "bea", "Bea")
    slack.add_usergroup(ONCALL_GROUP, [ONCALL_MEMBER])
    for user in (ONCALL_MEMBER, BYSTANDER, CUSTOMER, ENGINEER):
        slack.add_member(SUPPORT, user)
    yield from make_bot(db_url, slack, policies_path=str(policies_dir))


def ephemerals(bot: Bot, user: str) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in bot.slack.calls("chat.postEphemeral")
        if c.ok and c.params.get("user") == user
    ]


def test_the_requester_sets_the_initial_severity_until_a_responder_replies(
    team_bot: Bot,
) -> None:
    root = open_case(team_bot)
    assert press(team_bot, CUSTOMER, "sev2") == 200
    assert team_bot.cases()[0].severity == "sev2"
    say(team_bot, ENGINEER, "hello, looking", root)
    team_bot.settle()
    press(team_bot, CUSTOMER, "sev1")
    assert team_bot.cases()[0].severity == "sev2"
    [told] = ephemerals(team_bot, CUSTOMER)
    assert "responder" in told


def test_listed_responders_and_group_members_may_change_it_others_may_not(
    team_bot: Bot,
) -> None:
    open_case(team_bot)
    press(team_bot, BYSTANDER, "sev1")
    assert team_bot.cases()[0].severity == "sev3"
    [told] = ephemerals(team_bot, BYSTANDER)
    assert "Only the support team" in told
    press(team_bot, ONCALL_MEMBER, "sev2")
    assert team_bot.cases()[0].severity == "sev2"
    press(team_bot, ENGINEER, "sev4")
    assert team_bot.cases()[0].severity == "sev4"


def test_a_button_replayed_from_another_channel_does_nothing(team_bot: Bot) -> None:
    open_case(team_bot)
    press(team_bot, ENGINEER, "sev1", channel="C0ELSEWHERE")
    assert team_bot.cases()[0].severity == "sev3"
    assert team_bot.slack.calls("chat.update") == []


def test_an_unknown_severity_is_explained(team_bot: Bot) -> None:
    open_case(team_bot)
    press(team_bot, ENGINEER, "sev9")
    assert team_bot.cases()[0].severity == "sev3"
    [told] = ephemerals(team_bot, ENGINEER)
    assert "'sev9' is not a severity" in told and "sev1" in told


def test_a_channel_no_policy_covers_is_explained(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    folder = tmp_path / "only-listed"
    folder.mkdir()
    source = ROOT / "policies/four-levels-business-hours-holidays.yaml"
    (folder / "policy.yaml").write_text(source.read_text())
    for bot in make_bot(db_url, slack, policies_path=str(folder)):
        open_case(bot)
        assert bot.cases() == []
        [dm] = [m for m in slack.posted_messages() if m.channel not in (SUPPORT,)]
        assert "no escalation policy covers" in dm.text


def test_a_severity_change_before_the_card_is_out_shows_on_the_card_when_it_is(
    team_bot: Bot,
) -> None:
    team_bot.slack.fail("chat.postMessage", status=500, times=3)
    ts = team_bot.slack.post_user_message(SUPPORT, CUSTOMER, "card delayed")
    event = payloads.reaction_added(
        team=team_bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert team_bot.driver.event(event).status == 200
    team_bot.settle()
    assert [m for m in team_bot.slack.posted_messages(SUPPORT) if m.blocks] == []
    [case] = team_bot.cases()
    resp = team_bot.driver.interaction(
        payloads.block_actions(
            action_id=f"{SET_SEVERITY_ACTION}:sev2",
            value=f"{case.id}:sev2",
            user=ENGINEER,
            channel=SUPPORT,
            message_ts=ts,
            team=team_bot.slack.team_id,
        )
    )
    assert resp.status == 200
    team_bot.settle()  # the card update waits behind the card it would update
    for _ in range(3):  # the outbox retries the card with backoff
        team_bot.clock.advance(__import__("datetime").timedelta(minutes=5))
        team_bot.settle()
    [card] = [m for m in team_bot.slack.posted_messages(SUPPORT) if m.blocks]
    assert "SEV 2" in str(card.blocks) and team_bot.slack.calls("chat.update") == []
