"""Each workspace owns its setup: two workspaces with a policy each (`workspaces:`), their
own schedules, chains and overrides, through the bot's endpoints in multi-workspace mode.
Nothing the bot sends with one workspace's token names the other's people, channels or
schedules; a workspace no policy serves is told so, and no case opens there."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.conftest import Bot
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.installs import install, multi_workspace_bot
from tests.support.page_webhooks import SECRET, Receiver, serve_receiver
from tests.support.three_workspaces import (
    ACME,
    ACME_CH,
    ACME_ENG,
    ACME_USER,
    GLOBEX,
    GLOBEX_CH,
    GLOBEX_COVER,
    GLOBEX_ENG,
    GLOBEX_USER,
    INITECH,
    INITECH_CH,
    INITECH_USER,
    MONDAY,
    NOT_SET_UP,
    PEOPLE,
    THEIRS,
    seat_everyone,
    write_policies,
)


@pytest.fixture
def pagers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Receiver]]:
    """Each workspace's own pager, on this machine."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1")  # the receivers are local: no proxy
    with contextlib.ExitStack() as stack:
        yield {
            team: stack.enter_context(contextlib.contextmanager(serve_receiver)(SECRET))
            for team in (ACME, GLOBEX)
        }


@pytest.fixture
def three(db_url: str, tmp_path: Path, pagers: dict[str, Receiver]) -> Iterator[Bot]:
    folder = tmp_path / "policies"
    write_policies(folder, {team: pager.url for team, pager in pagers.items()})
    clock = FakeClock(MONDAY)
    with FakeSlack(clock=clock) as fake:
        seat_everyone(fake)
        yield from multi_workspace_bot(
            db_url,
            fake,
            clock=clock,
            policies_path=str(folder),
            page_webhook_secret=SECRET,
        )


def react(bot: Bot, team: str, channel: str, user: str, text: str) -> None:
    ts = bot.slack.post_user_message(channel, user, text)
    event = payloads.reaction_added(team=team, channel=channel, ts=ts, user=user, item_user=user)
    assert bot.driver.event(event).status == 200
    bot.settle()


def command(bot: Bot, team: str, user: str, channel: str, name: str, text: str) -> list[str]:
    answer = f"r{len(bot.slack.calls())}"
    form = payloads.slash_command(
        name,
        text,
        user_id=user,
        channel_id=channel,
        team_id=team,
        response_url=bot.slack.response_url(answer),
    )
    assert bot.driver.command(form).status == 200
    bot.settle()
    return [r["text"] for r in bot.slack.responses(answer)]


def open_home(bot: Bot, team: str, user: str) -> None:
    event = payloads.event_callback(
        team, {"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": "home"}
    )
    assert bot.driver.event(event).status == 200
    bot.settle()


def test_each_workspace_pages_shows_and_hands_off_only_its_own(
    three: Bot, pagers: dict[str, Receiver]
) -> None:
    bot = three
    for team, name in ((ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")):
        install(bot, team, name, PEOPLE[team][0])

    # Globex cannot name Acme's schedule; it covers its own.
    assert command(
        bot,
        GLOBEX,
        GLOBEX_ENG,
        GLOBEX_CH,
        "/oncall",
        "override <@U0GLOBENG1> 2026-12-07 10:30 2026-12-07 12:00 acme-primary",
    ) == ["No schedule `acme-primary`: the schedules are `globex-primary`."]
    assert command(
        bot,
        GLOBEX,
        GLOBEX_ENG,
        GLOBEX_CH,
        "/oncall",
        f"override <@{GLOBEX_COVER}> 2026-12-07 10:00 2026-12-07 12:00 globex-primary",
    ) == [
        f"<@{GLOBEX_COVER}> covers *globex-primary* from Mon 07 Dec 2026 10:00 UTC to "
        "Mon 07 Dec 2026 12:00 UTC."
    ]
    acme_who = command(bot, ACME, ACME_ENG, ACME_CH, "/oncall", "")
    globex_who = command(bot, GLOBEX, GLOBEX_ENG, GLOBEX_CH, "/oncall", "")
    assert len(acme_who) == len(globex_who) == 1
    assert "acme-primary" in acme_who[0] and f"<@{ACME_ENG}>" in acme_who[0]
    assert "globex" not in acme_who[0] and "U0GLOB" not in acme_who[0]
    assert "globex-primary" in globex_who[0] and f"<@{GLOBEX_COVER}>" in globex_who[0]
    assert "acme" not in globex_who[0] and "U0ACME" not in globex_who[0]

    # Each raises its own CASE-1: each page reaches that workspace's on-call person, with
    # that workspace's token.
    react(bot, ACME, ACME_CH, ACME_USER, "acme checkout is down")
    react(bot, GLOBEX, GLOBEX_CH, GLOBEX_USER, "globex checkout is down")
    command(bot, ACME, ACME_ENG, ACME_CH, "/severity", "CASE-1 sev1")
    command(bot, GLOBEX, GLOBEX_ENG, GLOBEX_CH, "/severity", "CASE-1 sev1")
    assert {(c.team_id, c.severity) for c in bot.cases()} == {(ACME, "sev1"), (GLOBEX, "sev1")}
    pages = sorted(
        (call.team, call.params["channel"])
        for call in bot.slack.calls("chat.postMessage")
        if call.ok and str(call.params["channel"]).startswith("U")
    )
    assert pages == [(ACME, ACME_ENG), (GLOBEX, GLOBEX_COVER)]

    # A workspace no policy serves is told so, and nothing opens there.
    react(bot, INITECH, INITECH_CH, INITECH_USER, "initech is down too")
    told = [
        call.params["text"]
        for call in bot.slack.calls("chat.postMessage")
        if call.ok and call.params["channel"] == INITECH_USER
    ]
    assert told == [NOT_SET_UP]
    assert sorted((c.team_id, c.number) for c in bot.cases()) == [(ACME, 1), (GLOBEX, 1)]

    # App Home shows each viewer only their own workspace's schedules.
    open_home(bot, ACME, ACME_ENG)
    open_home(bot, GLOBEX, GLOBEX_ENG)
    homes = {user: json.dumps(bot.slack.home_view(user)) for user in (ACME_ENG, GLOBEX_ENG)}
    assert "acme-primary" in homes[ACME_ENG] and "globex-primary" not in homes[ACME_ENG]
    assert "globex-primary" in homes[GLOBEX_ENG] and "acme-primary" not in homes[GLOBEX_ENG]

    # Globex's override ends at 12:00: the handoff back to its engineer is Globex's alone.
    bot.clock.set(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    bot.settle()
    handoffs = [
        (call.team, call.params["channel"])
        for call in bot.slack.calls("chat.postMessage")
        if call.ok and "You are on call" in str(call.params.get("text"))
    ]
    assert handoffs == [(GLOBEX, GLOBEX_ENG)]

    # Monday morning: each policy's weekly report, its own rows only, in its own channel.
    bot.clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    bot.settle()
    reports = sorted(
        (call.team, str(call.params["channel_id"]))
        for call in bot.slack.calls("files.completeUploadExternal")
        if call.ok
    )
    assert reports == [(ACME, ACME_CH), (GLOBEX, GLOBEX_CH)]

    # Across everything the bot sent, each workspace's calls name only its own.
    theirs = THEIRS
    sent = [
        call
        for call in bot.slack.calls()
        if call.team in theirs and call.method != "oauth.v2.access"
    ]
    assert {call.team for call in sent} == {ACME, GLOBEX}
    for call in sent:
        said = json.dumps(call.params).lower()
        leaked = [word for word in theirs[call.team] if word.lower() in said]
        assert leaked == [], (call.method, call.team, leaked)
    # And each workspace's pager heard only of its own case and people.
    for team, pager in pagers.items():
        bodies = [json.loads(r.body) for r in pager.requests if r.valid]
        assert bodies, team
        assert {body["severity"] for body in bodies} == {"sev1"}
        heard = json.dumps(bodies).lower()
        assert [word for word in THEIRS[team] if word.lower() in heard] == []
