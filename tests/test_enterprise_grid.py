"""Enterprise Grid through the real endpoints and the stand-in's Grid shapes: a workspace
install in an organisation, and an org-wide install serving the workspaces its organisation
adds the app to, open cases with their own token; their uninstalls delete their tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Bot
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.installs import (
    TOKEN_KEY,
    clear_tokens,
    install,
    install_org,
    multi_workspace_bot,
)

ORG = "E0UMBRELLA"
GRID, RESEARCH, LABS, OUTSIDE = "T0UMBGRID1", "T0UMBRSRCH", "T0UMBLABS1", "T0OUTSIDE1"
CHANNELS = {GRID: "C0GRIDSUP1", RESEARCH: "C0RSRCHSUP", LABS: "C0LABSSUP1", OUTSIDE: "C0OUTSUP01"}
USERS = {GRID: "W0GRIDUSR1", RESEARCH: "W0RSRCHUS1", LABS: "W0LABSUSR1", OUTSIDE: "U0OUTUSR01"}
ENG = "W0UMBENG01"


@pytest.fixture
def grid(db_url: str) -> Iterator[Bot]:
    with FakeSlack() as fake:
        fake.add_user(ENG, "eng", "Eng", team_id=GRID)
        for team, channel in CHANNELS.items():
            fake.add_user(USERS[team], USERS[team].lower(), USERS[team], team_id=team)
            fake.add_channel(channel, channel.lower(), bot_member=True, team_id=team)
        yield from multi_workspace_bot(
            db_url,
            fake,
            token_encryption_key=TOKEN_KEY,
        )


def org_wide(payload: dict[str, Any], team: str | None) -> dict[str, Any]:
    """An event as Slack sends it for an org-wide install: authorizations[0] names the
    organisation and the workspace (none for the organisation as a whole)."""
    payload["authorizations"][0].update(team_id=team, is_enterprise_install=True)
    return payload


def react(bot: Bot, team: str, text_: str, whole_org: bool = False) -> int:
    channel, user = CHANNELS[team], USERS[team]
    ts = bot.slack.post_user_message(channel, user, text_)
    event = payloads.reaction_added(
        team=team, channel=channel, ts=ts, user=user, item_user=user, enterprise_id=ORG
    )
    status = bot.driver.event(org_wide(event, team) if whole_org else event).status
    bot.settle()
    return status


def uninstall(bot: Bot, team: str, whole_org: bool = False) -> None:
    event = payloads.event_callback(team, {"type": "app_uninstalled"}, enterprise_id=ORG)
    assert bot.driver.event(org_wide(event, None) if whole_org else event).status == 200
    bot.settle()


def bots(bot: Bot) -> list[tuple[Any, ...]]:
    with bot.runtime.engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT enterprise_id, team_id, is_enterprise_install, bot_token IS NOT NULL"
                " FROM slack_bots ORDER BY id"
            )
        )
        return [(e, t, bool(org), bool(token)) for e, t, org, token in found]


def cards(bot: Bot) -> list[tuple[str, str | None]]:
    return [(c.params["channel"], c.team) for c in bot.slack.calls("chat.postMessage") if c.ok]


def test_a_grid_workspace_install_opens_cases_and_its_uninstall_deletes_its_tokens(
    grid: Bot,
) -> None:
    bot = grid
    install(bot, GRID, "Umbrella Grid", ENG, enterprise_id=ORG)
    assert bots(bot) == [(ORG, GRID, False, True)]
    assert react(bot, GRID, "the grid is down") == 200
    assert [(c.team_id, c.number, c.text) for c in bot.cases()] == [(GRID, 1, "the grid is down")]
    assert cards(bot) == [(CHANNELS[GRID], GRID)]
    uninstall(bot, GRID)
    assert bots(bot) == []
    with bot.runtime.engine.connect() as conn:
        tokens = conn.execute(
            text("SELECT enterprise_id, team_id, bot_token FROM slack_installations")
        ).all()
    assert [tuple(r) for r in tokens] == [(ORG, GRID, None)]
    assert clear_tokens(bot.runtime.engine) == []
    # Its events are acknowledged and dropped now.
    assert react(bot, GRID, "still down?") == 200
    assert len(bot.cases()) == 1


def test_an_org_wide_install_serves_the_workspaces_its_organisation_adds_it_to(
    grid: Bot,
) -> None:
    bot = grid
    install_org(bot, ORG, "Umbrella", ENG)
    assert bots(bot) == [(ORG, None, True, True)]
    bot.slack.add_org_workspace(ORG, RESEARCH, "Umbrella Research")
    bot.slack.add_org_workspace(ORG, LABS, "Umbrella Labs")
    assert react(bot, RESEARCH, "research is down", whole_org=True) == 200
    assert react(bot, LABS, "labs are down", whole_org=True) == 200
    # A workspace the organisation has not added the app to: kept at the door (an org-wide
    # install might serve it), then dropped once Slack's list says it is not.
    assert react(bot, OUTSIDE, "outside", whole_org=True) == 200
    assert [(c.team_id, c.number, c.text) for c in bot.cases()] == [
        (RESEARCH, 1, "research is down"),
        (LABS, 1, "labs are down"),
    ]
    # Each case's card went out with the organisation's one token.
    assert cards(bot) == [(CHANNELS[RESEARCH], ORG), (CHANNELS[LABS], ORG)]
    # The workspaces are linked to the organisation's install, with no copy of its token.
    assert bots(bot) == [
        (ORG, None, True, True),
        (ORG, LABS, True, False),
        (ORG, RESEARCH, True, False),
    ]
    assert clear_tokens(bot.runtime.engine) == []
    # A command from a workspace of the organisation is answered there.
    name = f"r{len(bot.slack.calls())}"
    form = payloads.slash_command(
        "/case",
        "list",
        user_id=USERS[LABS],
        channel_id=CHANNELS[LABS],
        team_id=LABS,
        response_url=bot.slack.response_url(name),
        enterprise_id=ORG,
    )
    form["is_enterprise_install"] = "true"
    assert bot.driver.command(form).status == 200
    bot.settle()
    [answer] = bot.slack.responses(name)
    assert "CASE-1" in answer["text"]


def test_the_org_wide_uninstall_deletes_the_organisations_tokens(grid: Bot) -> None:
    bot = grid
    install_org(bot, ORG, "Umbrella", ENG)
    bot.slack.add_org_workspace(ORG, RESEARCH, "Umbrella Research")
    bot.slack.add_org_workspace(ORG, LABS, "Umbrella Labs")
    react(bot, RESEARCH, "research is down", whole_org=True)
    react(bot, LABS, "labs are down", whole_org=True)
    # The app leaves one workspace; the organisation's token still works, so its install
    # stays and serves the other.
    uninstall(bot, RESEARCH)
    assert bots(bot) == [(ORG, None, True, True), (ORG, LABS, True, False)]
    # The organisation uninstalls the app: Slack names the organisation, no workspace.
    bot.slack.revoke(ORG)
    uninstall(bot, ORG, whole_org=True)
    assert bots(bot) == []
    with bot.runtime.engine.connect() as conn:
        tokens = conn.execute(
            text("SELECT enterprise_id, team_id, bot_token FROM slack_installations")
        ).all()
    assert [tuple(r) for r in tokens] == [(ORG, None, None)]
    assert react(bot, LABS, "labs again", whole_org=True) == 200
    assert [(c.team_id, c.text) for c in bot.cases()] == [
        (RESEARCH, "research is down"),
        (LABS, "labs are down"),
    ]
