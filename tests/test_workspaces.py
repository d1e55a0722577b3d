"""Multi-workspace mode through the real endpoints: Slack's OAuth install flow against the
stand-in stores an installation per workspace; each workspace's work uses its own token;
neither workspace can see or touch the other's cases (the same answers as for a case that
does not exist); an uninstall stops that workspace's work and keeps its history."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, text

from bot.db.models import OutboxMessage
from tests.conftest import Bot
from tests.support import payloads
from tests.support.fake_slack import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, FakeSlack
from tests.support.installs import STATE_SECRET, TOKEN_KEY, http_get, install, multi_workspace_bot

ACME, GLOBEX = "T0ACME0001", "T0GLOBEX01"
ACME_CH, GLOBEX_CH = "C0ACMESUP1", "C0GLOBSUP1"
ACME_USER, GLOBEX_USER = "U0ACMEUSR1", "U0GLOBUSR1"
ACME_ENG, GLOBEX_ENG = "U0ACMEENG1", "U0GLOBENG1"


@pytest.fixture
def two(db_url: str, tmp_path: Path) -> Iterator[Bot]:
    with FakeSlack() as fake:
        for user in (ACME_USER, GLOBEX_USER, ACME_ENG, GLOBEX_ENG):
            fake.add_user(
                user, user.lower(), user, team_id=ACME if user in (ACME_USER, ACME_ENG) else GLOBEX
            )
        fake.add_channel(ACME_CH, "acme-support", bot_member=True, team_id=ACME)
        fake.add_channel(GLOBEX_CH, "globex-support", bot_member=True, team_id=GLOBEX)
        yield from multi_workspace_bot(
            db_url,
            fake,
            token_encryption_key=TOKEN_KEY,
        )


def react(bot: Bot, team: str, channel: str, user: str, text_: str, reactor: str) -> int:
    ts = bot.slack.post_user_message(channel, user, text_)
    event = payloads.reaction_added(team=team, channel=channel, ts=ts, user=reactor, item_user=user)
    status = bot.driver.event(event).status
    bot.settle()
    return status


def command(bot: Bot, team: str, user: str, channel: str, text_: str) -> list[str]:
    name = f"r{len(bot.slack.calls())}"
    form = payloads.slash_command(
        "/case",
        text_,
        user_id=user,
        channel_id=channel,
        team_id=team,
        response_url=bot.slack.response_url(name),
    )
    assert bot.driver.command(form).status == 200
    bot.settle()
    return [r["text"] for r in bot.slack.responses(name)]


def test_install_flow_stores_each_workspace_and_its_work_uses_its_own_token(two: Bot) -> None:
    bot = two
    install(bot, ACME, "Acme", ACME_ENG)
    install(bot, GLOBEX, "Globex", GLOBEX_ENG)
    with bot.runtime.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT team_id, team_name, bot_user_id FROM slack_bots ORDER BY team_id")
        ).all()
    assert [tuple(r) for r in rows] == [
        (ACME, "Acme", "U0BOT" + ACME[-5:]),
        (GLOBEX, "Globex", "U0BOT" + GLOBEX[-5:]),
    ]
    assert react(bot, ACME, ACME_CH, ACME_USER, "acme is down", ACME_ENG) == 200
    assert react(bot, GLOBEX, GLOBEX_CH, GLOBEX_USER, "globex is down", GLOBEX_ENG) == 200
    cases = {(c.team_id, c.number): c.text for c in bot.cases()}
    assert cases == {(ACME, 1): "acme is down", (GLOBEX, 1): "globex is down"}
    # Every Web API call about a workspace's case was made with that workspace's token.
    for call in bot.slack.calls():
        if call.method in ("conversations.history", "chat.postMessage", "chat.getPermalink"):
            channel = call.params.get("channel")
            assert call.team == {ACME_CH: ACME, GLOBEX_CH: GLOBEX}[str(channel)], call.method
    cards = [(m.channel, m.text) for m in bot.slack.posted_messages() if m.blocks]
    assert [channel for channel, _ in cards] == [ACME_CH, GLOBEX_CH]
    assert all("CASE-1" in card for _, card in cards)


def test_a_workspace_cannot_see_or_touch_the_others_cases(two: Bot) -> None:
    bot = two
    install(bot, ACME, "Acme", ACME_ENG)
    install(bot, GLOBEX, "Globex", GLOBEX_ENG)
    react(bot, ACME, ACME_CH, ACME_USER, "first", ACME_ENG)
    react(bot, ACME, ACME_CH, ACME_USER, "second", ACME_ENG)
    # Globex asks about Acme's CASE-2, from Acme's channel id and from its own: the same
    # answer as for a case that exists nowhere.
    missing = command(bot, GLOBEX, GLOBEX_ENG, GLOBEX_CH, "show CASE-9")
    assert missing == ["No case CASE-9 in this channel."]
    assert command(bot, GLOBEX, GLOBEX_ENG, ACME_CH, "show CASE-2") == [
        "No case CASE-2 in this channel."
    ]
    assert command(bot, GLOBEX, GLOBEX_ENG, GLOBEX_CH, "resolve CASE-2") == [
        "No case CASE-2 in this channel."
    ]
    assert command(bot, GLOBEX, GLOBEX_ENG, ACME_CH, "ack CASE-2") == [
        "No case CASE-2 in this channel."
    ]
    assert command(bot, GLOBEX, GLOBEX_ENG, GLOBEX_CH, "ack CASE-9") == [
        "No case CASE-9 in this channel."
    ]
    # A severity button pressed in Globex naming Acme's case id changes nothing.
    [acme_case, *_] = [c for c in bot.cases() if c.team_id == ACME]
    press = payloads.block_actions(
        action_id="set_severity:sev1",
        value=f"{acme_case.id}:sev1",
        user=GLOBEX_ENG,
        channel=ACME_CH,
        message_ts=acme_case.message_ts,
        team=GLOBEX,
    )
    assert bot.driver.interaction(press).status == 200
    bot.settle()
    assert {(c.team_id, c.number, c.severity, c.status) for c in bot.cases()} == {
        (ACME, 1, "sev3", "open"),
        (ACME, 2, "sev3", "open"),
    }


def test_an_uninstall_stops_that_workspace_and_keeps_its_history(two: Bot) -> None:
    bot = two
    install(bot, ACME, "Acme", ACME_ENG)
    install(bot, GLOBEX, "Globex", GLOBEX_ENG)
    react(bot, ACME, ACME_CH, ACME_USER, "before the uninstall", ACME_ENG)
    uninstalled = payloads.event_callback(ACME, {"type": "app_uninstalled"})
    assert bot.driver.event(uninstalled).status == 200
    bot.settle()
    bot.slack.revoke(ACME)
    with bot.runtime.engine.connect() as conn:
        teams = conn.execute(text("SELECT team_id FROM slack_bots")).scalars().all()
    assert teams == [GLOBEX]
    calls_before = len(bot.slack.calls())
    # Acme's events are acknowledged and dropped; its case's reminders and breach come due
    # and nothing is sent to Acme any more.
    assert react(bot, ACME, ACME_CH, ACME_USER, "after the uninstall", ACME_ENG) == 200
    bot.clock.advance(timedelta(hours=8))
    bot.settle()
    acme_calls = [c for c in bot.slack.calls()[calls_before:] if c.method != "auth.test"]
    assert acme_calls == []
    [case] = bot.cases()
    assert (case.team_id, case.number, case.text, case.status) == (
        ACME,
        1,
        "before the uninstall",
        "open",
    )
    with bot.runtime.sessions() as session:
        skipped = session.execute(
            select(OutboxMessage.intent, OutboxMessage.status, OutboxMessage.last_error)
            .where(OutboxMessage.team_id == ACME, OutboxMessage.status != "sent")
            .order_by(OutboxMessage.id)
        ).all()
    # (The reminder, due before the breach, folded into it when both came due at once.)
    assert [tuple(r) for r in skipped] == [
        ("breach_alert", "skipped", f"not installed in {ACME}"),
        ("case_card_refresh", "skipped", f"not installed in {ACME}"),
    ]
    # Globex goes on as before.
    assert react(bot, GLOBEX, GLOBEX_CH, GLOBEX_USER, "still here", GLOBEX_ENG) == 200
    assert [(c.team_id, c.number) for c in bot.cases()] == [(ACME, 1), (GLOBEX, 1)]


def test_a_forged_oauth_state_is_refused(two: Bot, caplog: pytest.LogCaptureFixture) -> None:
    bot = two
    code, _ = bot.slack.grant_install(ACME, "Acme", ACME_ENG)
    status, page, _ = http_get(
        f"{bot.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': 'made-up.1234'})}",
        "slack-app-oauth-state=made-up.1234",
    )
    assert (status, "invalid_state" in page) == (401, True), (status, page)
    with bot.runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM slack_bots")).scalar_one() == 0
    assert [c for c in bot.slack.calls() if c.method == "oauth.v2.access"] == []
    refusals = [r.getMessage() for r in caplog.records if "OAuth redirect" in r.getMessage()]
    assert refusals == ["refused an OAuth redirect: its state is not one the bot issued"]


@pytest.mark.process
def test_serve_runs_in_multi_workspace_mode_without_a_bot_token(
    db_url: str, slack: FakeSlack
) -> None:
    """As an operator starts it: OAuth credentials and a state secret in the environment, no
    bot token. A workspace installs the app through the process, and its reaction opens a
    case answered with its own token; without the state secret the process refuses to
    start, saying why."""
    from types import SimpleNamespace

    from tests.support.serve_process import counts, env_for, wait_until
    from tests.support.server import SIGNING_SECRET, ServeProcess
    from tests.support.signing import SlackDriver

    slack.add_user(ACME_USER, "ana", "Ana")
    slack.add_user(ACME_ENG, "sam", "Sam")
    slack.add_channel(ACME_CH, "acme-support", bot_member=True, team_id=ACME)

    env = env_for(
        db_url,
        slack,
        SLACK_CLIENT_ID=OAUTH_CLIENT_ID,
        SLACK_CLIENT_SECRET=OAUTH_CLIENT_SECRET,
        SLACK_STATE_SECRET=STATE_SECRET,
        TOKEN_ENCRYPTION_KEY=TOKEN_KEY,
    )
    del env["SLACK_BOT_TOKEN"]
    proc = ServeProcess(env).start()
    try:
        install(SimpleNamespace(url=proc.url, slack=slack), ACME, "Acme", ACME_ENG)  # type: ignore[arg-type]
        ts = slack.post_user_message(ACME_CH, ACME_USER, "acme is down")
        event = payloads.reaction_added(
            team=ACME, channel=ACME_CH, ts=ts, user=ACME_ENG, item_user=ACME_USER
        )
        assert SlackDriver(proc.url, SIGNING_SECRET).event(event).status == 200
        assert wait_until(lambda: counts(db_url)[0] == 1, timeout=20)
        cards = lambda: [c for c in slack.calls("chat.postMessage") if c.ok]  # noqa: E731
        assert wait_until(lambda: len(cards()) >= 1, timeout=20)
        assert {c.team for c in cards()} == {ACME}
    finally:
        proc.stop()
    del env["SLACK_STATE_SECRET"]
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=ServeProcess(env).env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (refused.returncode, refused.stderr) == (
        2,
        "escalation-bot: SLACK_STATE_SECRET is not set: it is required for this command\n",
    )
