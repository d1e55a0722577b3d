"""Workspace-owned setups as an operator runs them: `escalation-bot serve` in multi-workspace
mode with two workspaces' policies, three workspaces installing through it, and the Slack
stand-in. Nothing sent with one workspace's token names another's people, channels or
schedules; the workspace no policy serves is told it is not set up."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support import payloads
from tests.support.fake_slack import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, FakeSlack
from tests.support.installs import install
from tests.support.serve_process import counts, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver
from tests.support.three_workspaces import (
    ACME,
    ACME_CH,
    ACME_ENG,
    ACME_USER,
    GLOBEX,
    GLOBEX_CH,
    GLOBEX_ENG,
    GLOBEX_USER,
    INITECH,
    INITECH_CH,
    INITECH_USER,
    NOT_SET_UP,
    PEOPLE,
    STATE_SECRET,
    THEIRS,
    seat_everyone,
    write_policies,
)

pytestmark = pytest.mark.slow


def test_serve_keeps_each_workspace_to_its_own(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    seat_everyone(slack)
    folder = tmp_path / "policies"
    write_policies(folder)
    env = env_for(
        db_url,
        slack,
        POLICIES_PATH=str(folder),
        SLACK_CLIENT_ID=OAUTH_CLIENT_ID,
        SLACK_CLIENT_SECRET=OAUTH_CLIENT_SECRET,
        SLACK_STATE_SECRET=STATE_SECRET,
    )
    del env["SLACK_BOT_TOKEN"]
    proc = ServeProcess(env).start()
    try:
        here = SimpleNamespace(url=proc.url, slack=slack)
        for team, name in ((ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")):
            install(here, team, name, PEOPLE[team][0])  # type: ignore[arg-type]
        driver = SlackDriver(proc.url, SIGNING_SECRET)

        def answer(team: str, user: str, channel: str, command: str, text: str) -> list[str]:
            name = f"r{len(slack.calls())}"
            form = payloads.slash_command(
                command,
                text,
                user_id=user,
                channel_id=channel,
                team_id=team,
                response_url=slack.response_url(name),
            )
            assert driver.command(form).status == 200
            assert wait_until(lambda: bool(slack.responses(name)), timeout=20)
            return [r["text"] for r in slack.responses(name)]

        def react(team: str, channel: str, user: str, text: str) -> None:
            ts = slack.post_user_message(channel, user, text)
            event = payloads.reaction_added(
                team=team, channel=channel, ts=ts, user=user, item_user=user
            )
            assert driver.event(event).status == 200

        acme_who = answer(ACME, ACME_ENG, ACME_CH, "/oncall", "")
        assert "acme-primary" in acme_who[0] and "globex" not in acme_who[0]
        refused = answer(GLOBEX, GLOBEX_ENG, GLOBEX_CH, "/oncall", "acme-primary")
        assert refused == ["No schedule `acme-primary`: the schedules are `globex-primary`."]

        react(ACME, ACME_CH, ACME_USER, "acme checkout is down")
        react(GLOBEX, GLOBEX_CH, GLOBEX_USER, "globex checkout is down")
        assert wait_until(lambda: counts(db_url)[0] == 2, timeout=20)
        answer(ACME, ACME_ENG, ACME_CH, "/severity", "CASE-1 sev1")
        answer(GLOBEX, GLOBEX_ENG, GLOBEX_CH, "/severity", "CASE-1 sev1")

        def pages() -> list[tuple[str | None, str]]:
            return sorted(
                (call.team, str(call.params["channel"]))
                for call in slack.calls("chat.postMessage")
                if call.ok and str(call.params["channel"]) in (ACME_ENG, GLOBEX_ENG)
            )

        assert wait_until(lambda: len(pages()) == 2, timeout=20)
        assert pages() == [(ACME, ACME_ENG), (GLOBEX, GLOBEX_ENG)]

        react(INITECH, INITECH_CH, INITECH_USER, "initech is down too")

        def told() -> list[str]:
            return [
                str(call.params["text"])
                for call in slack.calls("chat.postMessage")
                if call.ok and call.params["channel"] == INITECH_USER
            ]

        assert wait_until(lambda: bool(told()), timeout=20)
        assert told() == [NOT_SET_UP]
        assert counts(db_url)[0] == 2
    finally:
        proc.stop()
    sent = [call for call in slack.calls() if call.team in THEIRS]
    assert {call.team for call in sent} == {ACME, GLOBEX}
    for call in sent:
        said = json.dumps(call.params).lower()
        leaked = [word for word in THEIRS[call.team] if word.lower() in said]
        assert leaked == [], (call.method, call.team, leaked)
