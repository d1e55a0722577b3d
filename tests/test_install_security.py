"""Who may install, through the real endpoints and the stand-in: an installation from a
workspace or organisation outside ALLOWED_TEAMS / ALLOWED_ENTERPRISES is refused at the
redirect and nothing is stored (the token Slack issued is given back); `team` on the install
page is a workspace id or a 400, and goes into the authorize link encoded; expired states are
deleted; the install page is rate-limited per client address; a failed exchange never logs
its code."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from bot.clock import FakeClock
from bot.reports.purge import purge_installs
from bot.settings import SettingsError, load_settings
from bot.slack.install_limits import RateLimit
from tests.conftest import Bot
from tests.support.fake_slack import FakeSlack
from tests.support.installs import (
    TOKEN_KEY,
    authorize_link,
    finish,
    http_get,
    install,
    multi_workspace_bot,
    start,
)

ACME, GLOBEX, GRID_TEAM = "T0ACME0001", "T0GLOBEX01", "T0GRIDWS01"
ORG, OTHER_ORG = "E0UMBRELLA", "E0INITECH1"
ACME_ENG, GLOBEX_ENG, GRID_ENG = "U0ACMEENG1", "U0GLOBENG1", "W0GRIDENG1"


def multi_bot(db_url: str, **settings: Any) -> Iterator[Bot]:
    with FakeSlack() as fake:
        yield from multi_workspace_bot(
            db_url,
            fake,
            token_encryption_key=TOKEN_KEY,
            **settings,
        )


@pytest.fixture
def allowing_acme(db_url: str) -> Iterator[Bot]:
    yield from multi_bot(db_url, allowed_teams=ACME, allowed_enterprises=ORG)


def count(bot: Bot, table: str) -> int:
    with bot.runtime.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def installed(bot: Bot) -> list[tuple[str | None, str | None]]:
    with bot.runtime.engine.connect() as conn:
        found = conn.execute(text("SELECT enterprise_id, team_id FROM slack_bots ORDER BY id"))
        return [tuple(r) for r in found]


def test_an_install_from_a_team_outside_allowed_teams_is_refused_and_stores_nothing(
    allowing_acme: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = allowing_acme
    code, token = bot.slack.grant_install(GLOBEX, "Globex", GLOBEX_ENG)
    assert finish(bot, code) == (403, "This app cannot be installed in workspace T0GLOBEX01.\n")
    assert (count(bot, "slack_bots"), count(bot, "slack_installations")) == (0, 0)
    # The token Slack issued for the refused install is given back: the app leaves Globex.
    [given_back] = bot.slack.calls("apps.uninstall")
    assert (given_back.team, given_back.ok) == (GLOBEX, True)
    refusals = [
        r.getMessage() for r in caplog.records if "refused an installation" in r.getMessage()
    ]
    assert refusals == [
        "refused an installation from workspace T0GLOBEX01: not allowed by the settings"
    ]
    assert all(token not in r.getMessage() for r in caplog.records)
    # Acme, and a workspace of the allowed organisation, install as before.
    install(bot, ACME, "Acme", ACME_ENG)
    install(bot, GRID_TEAM, "Umbrella Research", GRID_ENG, enterprise_id=ORG)
    assert installed(bot) == [(None, ACME), (ORG, GRID_TEAM)]


def test_an_org_wide_install_needs_its_organisation_allowed(allowing_acme: Bot) -> None:
    bot = allowing_acme
    code, _ = bot.slack.grant_org_install(OTHER_ORG, "Initech", "W0INITECH1")
    assert finish(bot, code) == (
        403,
        "This app cannot be installed in organisation E0INITECH1.\n",
    )
    # A workspace of another organisation is refused too.
    code, _ = bot.slack.grant_install("T0INITWS01", "Initech Ops", "W0INITECH1", OTHER_ORG)
    assert finish(bot, code) == (
        403,
        "This app cannot be installed in workspace T0INITWS01 of organisation E0INITECH1.\n",
    )
    assert (count(bot, "slack_bots"), count(bot, "slack_installations")) == (0, 0)
    code, _ = bot.slack.grant_org_install(ORG, "Umbrella", "W0UMBADMIN")
    assert finish(bot, code)[0] == 200
    assert installed(bot) == [(ORG, None)]


@pytest.fixture
def anyone(db_url: str) -> Iterator[Bot]:
    yield from multi_bot(db_url)


@pytest.fixture
def three_a_minute(db_url: str) -> Iterator[Bot]:
    yield from multi_bot(db_url, install_rate_per_minute=3)


def test_team_is_accepted_only_as_a_workspace_id_and_is_encoded_into_the_link(
    anyone: Bot,
) -> None:
    bot = anyone
    refusal = (400, "team must be a Slack workspace id, such as T0123ABCD.\n")
    smuggled = "T0ACME0001&redirect_uri=https://evil.example/&scope=admin"
    for query in (
        urlencode({"team": smuggled}),
        urlencode({"team": "acme"}),
        "team=T0ACME0001&team=T0GLOBEX01",
    ):
        status, page, _ = http_get(f"{bot.url}/slack/install?{query}")
        assert (status, page) == refusal, query
    assert count(bot, "slack_oauth_states") == 0
    status, page, _ = http_get(f"{bot.url}/slack/install?team={ACME}")
    assert status == 200
    link = authorize_link(page)
    assert sorted(link) == ["client_id", "scope", "state", "team"]
    assert link["team"] == [ACME]
    assert count(bot, "slack_oauth_states") == 1


def test_expired_states_are_deleted_when_a_state_is_written_and_by_purge(anyone: Bot) -> None:
    bot = anyone
    now = datetime.now(UTC).replace(tzinfo=None)
    with bot.runtime.engine.begin() as conn:
        for state, expires in (
            ("old-1", now - timedelta(hours=2)),
            ("live", now + timedelta(minutes=5)),
        ):
            conn.execute(
                text("INSERT INTO slack_oauth_states (state, expire_at) VALUES (:s, :e)"),
                {"s": state, "e": expires},
            )
    start(bot)
    with bot.runtime.engine.connect() as conn:
        states = conn.execute(text("SELECT state FROM slack_oauth_states ORDER BY id")).scalars()
        left = list(states)
    assert left[0] == "live" and len(left) == 2
    with bot.runtime.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO slack_oauth_states (state, expire_at) VALUES ('old-2', :e)"),
            {"e": now - timedelta(seconds=1)},
        )
    with bot.runtime.sessions.begin() as session:
        assert purge_installs(session, datetime.now(UTC), datetime.now(UTC)) == (1, 0)
    assert count(bot, "slack_oauth_states") == 2


def test_the_install_page_is_rate_limited_per_client_address(three_a_minute: Bot) -> None:
    bot = three_a_minute
    for _ in range(3):
        start(bot)
    status, page, headers = http_get(f"{bot.url}/slack/install")
    assert (status, page, headers["retry-after"]) == (
        429,
        "Too many requests: try again later.\n",
        "60",
    )
    assert count(bot, "slack_oauth_states") == 3
    bot.clock.advance(timedelta(seconds=45))
    assert http_get(f"{bot.url}/slack/install")[2]["retry-after"] == "15"
    bot.clock.advance(timedelta(seconds=15))
    start(bot)
    assert count(bot, "slack_oauth_states") == 4


def test_the_rate_limit_counts_each_address_on_its_own() -> None:
    clock = FakeClock()
    limit = RateLimit(2, clock)
    assert [limit.take("10.0.0.1") for _ in range(3)] == [None, None, 60]
    assert limit.take("10.0.0.2") is None
    clock.advance(timedelta(seconds=59))
    assert (limit.take("10.0.0.1"), limit.take("10.0.0.2")) == (1, None)
    assert limit.take("10.0.0.2") == 1
    clock.advance(timedelta(seconds=1))
    assert limit.take("10.0.0.1") is None


def test_a_failed_oauth_exchange_never_logs_its_code(
    anyone: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = anyone
    caplog.set_level(logging.DEBUG)
    code = "4242424242.5151515151.0123456789abcdef0123456789abcdef"
    status, page = finish(bot, code)
    assert status == 401 and "invalid_code" in page
    assert [r.getMessage() for r in caplog.records if "code exchange" in r.getMessage()] == [
        "Slack refused the OAuth code exchange (invalid_code)"
    ]
    # (The access log's line quotes the URL: the log handler masks its code, bot/logs.py.)
    quoting = [r for r in caplog.records if code in r.getMessage() and r.name != "uvicorn.access"]
    assert quoting == []
    assert (count(bot, "slack_bots"), count(bot, "slack_installations")) == (0, 0)


def test_the_allow_lists_take_only_slack_ids() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(allowed_teams="T0ACME0001, acme")
    assert (
        str(refused.value) == "ALLOWED_TEAMS is invalid: 'acme' is not a Slack id such as T0123ABCD"
    )
    with pytest.raises(SettingsError) as refused:
        load_settings(allowed_enterprises="T0ACME0001")
    assert str(refused.value) == (
        "ALLOWED_ENTERPRISES is invalid: 'T0ACME0001' is not a Slack id such as E0123ABCD"
    )
    settings = load_settings(allowed_teams="T0ACME0001, T0GLOBEX01", allowed_enterprises=ORG)
    assert (settings.allowed_team_ids, settings.allowed_enterprise_ids) == (
        frozenset({ACME, GLOBEX}),
        frozenset({ORG}),
    )
