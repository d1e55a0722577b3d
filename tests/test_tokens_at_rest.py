"""Tokens at rest, through the real install flow and the stand-in: no column of any table
holds a token in clear after installs, a reinstall and an uninstall; a reinstall replaces the
rows before it, an uninstall deletes the tokens, and `purge` removes the installation once
the workspace has been gone long enough. The key rotates; without a key the tokens are kept
in clear (said at start) and sealed once a key is configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from bot.reports.purge import purge
from bot.settings import SettingsError, load_settings
from tests.conftest import Bot
from tests.support import payloads
from tests.support.cli import run
from tests.support.fake_slack import FakeSlack
from tests.support.installs import OTHER_KEY, TOKEN_KEY, clear_tokens, install, multi_workspace_bot

ACME, GLOBEX = "T0ACME0001", "T0GLOBEX01"
ACME_CH, ACME_USER, ACME_ENG, GLOBEX_ENG = "C0ACMESUP1", "U0ACMEUSR1", "U0ACMEENG1", "U0GLOBENG1"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        slack.add_user(ACME_USER, "ana", "Ana", team_id=ACME)
        slack.add_user(ACME_ENG, "sam", "Sam", team_id=ACME)
        slack.add_channel(ACME_CH, "acme-support", bot_member=True, team_id=ACME)
        yield slack


def bot_on(db_url: str, fake: FakeSlack, key: str | None) -> Iterator[Bot]:
    settings: dict[str, Any] = {"token_encryption_key": key} if key else {}
    yield from multi_workspace_bot(
        db_url,
        fake,
        **settings,
    )


@pytest.fixture
def bot(db_url: str, fake: FakeSlack) -> Iterator[Bot]:
    yield from bot_on(db_url, fake, TOKEN_KEY)


def stored(bot: Bot, table: str) -> list[tuple[Any, ...]]:
    with bot.runtime.engine.connect() as conn:
        found = conn.execute(text(f"SELECT team_id, bot_token FROM {table} ORDER BY team_id"))
        return [tuple(r) for r in found]


def opened(values: list[tuple[Any, ...]], key: str = TOKEN_KEY) -> list[tuple[Any, ...]]:
    f = Fernet(key.encode())
    return [(team, f.decrypt(token.encode()).decode()) for team, token in values]


def uninstall(bot: Bot, team: str) -> None:
    assert (
        bot.driver.event(payloads.event_callback(team, {"type": "app_uninstalled"})).status == 200
    )
    bot.settle()


def test_no_token_in_clear_after_install_reinstall_and_uninstall(bot: Bot) -> None:
    first = install(bot, ACME, "Acme", ACME_ENG)
    globex = install(bot, GLOBEX, "Globex", GLOBEX_ENG)
    again = install(bot, ACME, "Acme Corp", ACME_ENG)
    assert clear_tokens(bot.runtime.engine) == []
    # The reinstall replaced Acme's rows: one installation and one bot per workspace.
    for table in ("slack_bots", "slack_installations"):
        assert opened(stored(bot, table)) == [(ACME, again), (GLOBEX, globex)]
    assert first != again
    client = bot.runtime.workspaces.client(ACME)
    assert client is not None and client.token == again
    # The workspace's work uses the token it now has.
    ts = bot.slack.post_user_message(ACME_CH, ACME_USER, "acme is down")
    event = payloads.reaction_added(
        team=ACME, channel=ACME_CH, ts=ts, user=ACME_ENG, item_user=ACME_USER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert [(c.team_id, c.text) for c in bot.cases()] == [(ACME, "acme is down")]
    uninstall(bot, ACME)
    assert opened(stored(bot, "slack_bots")) == [(GLOBEX, globex)]
    # Acme's installation keeps who installed it and when, without a token, until purge.
    with bot.runtime.engine.connect() as conn:
        kept = conn.execute(
            text(
                "SELECT team_id, user_id, bot_token, bot_refresh_token, user_token,"
                " user_refresh_token FROM slack_installations WHERE team_id = :t"
            ),
            {"t": ACME},
        ).all()
    assert [tuple(r) for r in kept] == [(ACME, ACME_ENG, None, None, None, None)]
    assert bot.runtime.workspaces.client(ACME) is None
    assert clear_tokens(bot.runtime.engine) == []


def test_purge_removes_the_installations_of_workspaces_uninstalled_long_enough_ago(
    bot: Bot, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(bot, ACME, "Acme", ACME_ENG)
    install(bot, GLOBEX, "Globex", GLOBEX_ENG)
    uninstall(bot, ACME)  # at the bot's clock
    gone_at = bot.clock.now()
    with bot.runtime.sessions.begin() as session:
        early = purge(session, gone_at + timedelta(days=6), timedelta(days=30), timedelta(days=7))
    assert (early.installations, early.uninstalled_cutoff) == (0, gone_at - timedelta(days=1))
    with bot.runtime.sessions.begin() as session:
        done = purge(session, gone_at + timedelta(days=8), timedelta(days=30), timedelta(days=7))
    assert done.installations == 1
    assert [team for team, _ in stored(bot, "slack_installations")] == [GLOBEX]
    # Acme installs again: nothing of the uninstall is left to purge.
    install(bot, ACME, "Acme", ACME_ENG)
    uninstall(bot, GLOBEX)
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, out, err = run("purge", "--older-than", "30", "--uninstalled-days", "0")
    assert (code, err) == (0, "")
    assert out.splitlines()[1].startswith(
        "removed 0 expired install states and 1 installations of workspaces uninstalled before "
    ), out
    assert [team for team, _ in stored(bot, "slack_installations")] == [ACME]


def test_without_a_key_tokens_are_kept_in_clear_until_one_is_configured(
    db_url: str, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        for bot in bot_on(db_url, fake, None):
            token = install(bot, ACME, "Acme", ACME_ENG)
            assert stored(bot, "slack_bots") == [(ACME, token)]
    assert [r.getMessage() for r in caplog.records if "TOKEN_ENCRYPTION_KEY" in r.getMessage()] == [
        "TOKEN_ENCRYPTION_KEY is not set: workspace tokens are stored in the database in clear"
        " (set it in production)"
    ]
    # The next start with a key seals what is there.
    for bot in bot_on(db_url, fake, TOKEN_KEY):
        assert clear_tokens(bot.runtime.engine) == []
        assert opened(stored(bot, "slack_bots")) == [(ACME, token)]
        client = bot.runtime.workspaces.client(ACME)
        assert client is not None and client.token == token


def test_a_new_key_first_reseals_every_token_and_the_old_key_can_go(
    db_url: str, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    for bot in bot_on(db_url, fake, TOKEN_KEY):
        token = install(bot, ACME, "Acme", ACME_ENG)
    for bot in bot_on(db_url, fake, f"{OTHER_KEY},{TOKEN_KEY}"):
        [(_, sealed)] = stored(bot, "slack_bots")
        assert opened(stored(bot, "slack_installations"), OTHER_KEY) == [(ACME, token)]
        with pytest.raises(InvalidToken):
            Fernet(TOKEN_KEY.encode()).decrypt(sealed.encode())
    for bot in bot_on(db_url, fake, OTHER_KEY):
        client = bot.runtime.workspaces.client(ACME)
        assert client is not None and client.token == token
    # A key that opens none of them: the workspace is not served, and the log says why.
    for bot in bot_on(db_url, fake, TOKEN_KEY):
        assert bot.runtime.workspaces.client(ACME) is None
    assert [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()][-1] == (
        "cannot read the token of installation T0ACME0001: none of the keys in"
        " TOKEN_ENCRYPTION_KEY opens it"
    )


def test_a_malformed_key_stops_the_process_naming_it_and_the_keys_are_masked() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(token_encryption_key=f"{TOKEN_KEY},not-a-key")
    assert str(refused.value) == (
        "TOKEN_ENCRYPTION_KEY is invalid: key 2 is not a Fernet key (32 bytes, URL-safe base64;"
        " make one with `python -c 'from cryptography.fernet import Fernet;"
        " print(Fernet.generate_key().decode())'`)"
    )
    settings = load_settings(token_encryption_key=f"{OTHER_KEY}, {TOKEN_KEY}")
    assert {OTHER_KEY, TOKEN_KEY} <= set(settings.secrets())
