"""The bot against a stand-in as strict as Slack: modals inside the trigger's 3 seconds
whatever the channel's outbox is doing, requests for other workspaces dropped, an uninstall
that stops the work in single-workspace mode."""

from __future__ import annotations

import copy
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot, assert_known_methods, make_bot
from tests.support import payloads
from tests.support.fake_slack import FakeSlack

FIXTURES = Path(__file__).parent / "fixtures" / "bolt_examples"
FOREIGN = "T0FOREIGN1"
OTHER_ORG = "T0CUSTORG1"


def wait_identity(bot: Bot) -> None:
    """The bot learns its workspace in the background at start; wait for it."""
    deadline = time.monotonic() + 10
    while bot.runtime.workspaces.identity.known is None:
        assert time.monotonic() < deadline, "the bot never learned its workspace"
        time.sleep(0.02)


def open_case(bot: Bot, text: str) -> str:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, text)
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return ts


def severity(bot: Bot, text: str, name: str) -> datetime:
    """`/severity TEXT` in the support channel; returns when it was sent (the stand-in's
    clock, which here is the wall clock)."""
    form = payloads.slash_command(
        "/severity",
        text,
        user_id=ENGINEER,
        channel_id=SUPPORT,
        team_id=bot.slack.team_id,
        response_url=bot.slack.response_url(name),
    )
    sent = bot.slack._clock.now()
    assert bot.driver.command(form).status == 200
    return sent


def settle_until(bot: Bot, done: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "nothing arrived"
        bot.settle()
        time.sleep(0.02)


def test_severity_modal_opens_within_the_window_while_the_channel_is_rate_limited(
    bot: Bot,
) -> None:
    open_case(bot, "checkout is down")
    open_case(bot, "search is slow")
    # Slack holds the channel back for 10 s: the next post there gets a 429.
    bot.slack.fail("chat.postMessage", status=429, retry_after=10, times=3)
    take = payloads.slash_command(
        "/case", "take CASE-1", user_id=ENGINEER, channel_id=SUPPORT,
        team_id=bot.slack.team_id, response_url=bot.slack.response_url("take"),
    )  # fmt: skip
    assert bot.driver.command(take).status == 200
    bot.settle()
    assert [c.status for c in bot.slack.calls("chat.postMessage")][-1] == 429

    sent = severity(bot, "", "pick")
    (call,) = bot.slack.wait_for("views.open")
    assert call.ok, call.response
    assert (call.at - sent).total_seconds() < 3
    view = call.params["view"]
    options = view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == ["1", "2"]


def test_an_expired_trigger_gets_a_private_answer_saying_what_to_type(bot: Bot) -> None:
    open_case(bot, "checkout is down")
    open_case(bot, "search is slow")
    # Slack takes longer than the trigger's life to see the call.
    bot.slack.delay("views.open", 3.5)
    severity(bot, "sev2", "late")
    (call,) = bot.slack.wait_for("views.open", timeout=10)
    assert call.error == "expired_trigger_id"
    settle_until(bot, lambda: bot.slack.responses("late"))
    assert [r["text"] for r in bot.slack.responses("late")] == [
        "The severity form could not be opened. Type `/severity CASE-n LEVEL [reason]` "
        "instead; open cases here: CASE-1, CASE-2."
    ]


def test_a_request_for_another_workspace_opens_nothing(bot: Bot) -> None:
    wait_identity(bot)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "not for us")
    event = payloads.reaction_added(
        team=FOREIGN, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert bot.cases() == []
    assert bot.slack.calls("conversations.history") == []


def test_a_slack_connect_event_belongs_to_the_installing_workspace_one_case_per_message(
    bot: Bot,
) -> None:
    wait_identity(bot)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "shared channel outage")
    ours = bot.slack.team_id
    # The same message reacted to from both sides of a shared channel: the envelope names
    # the other organisation once, the authorizations name the installing workspace both
    # times.
    for envelope_team, reactor in ((ours, ENGINEER), (OTHER_ORG, CUSTOMER)):
        event = payloads.reaction_added(
            team=envelope_team, channel=SUPPORT, ts=ts, user=reactor, item_user=CUSTOMER,
            authorization_team=ours, is_ext_shared_channel=True,
        )  # fmt: skip
        assert bot.driver.event(event).status == 200
    # Delivered to another installation (its authorizations): not this bot's.
    foreign = payloads.reaction_added(
        team=OTHER_ORG, channel=SUPPORT, ts=ts, user=CUSTOMER, item_user=CUSTOMER,
        authorization_team=OTHER_ORG, is_ext_shared_channel=True,
    )  # fmt: skip
    assert bot.driver.event(foreign).status == 200
    bot.settle()
    assert [(c.team_id, c.number, c.message_ts) for c in bot.cases()] == [(ours, 1, ts)]
    cards = [m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts]
    assert len(cards) == 1


def readyz(bot: Bot) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(bot.url + "/readyz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_an_uninstall_stops_the_work_in_single_workspace_mode(bot: Bot) -> None:
    wait_identity(bot)
    open_case(bot, "before the uninstall")
    assert readyz(bot) == (200, {"ready": True, "reason": "ready"})
    team = bot.slack.team_id
    event = payloads.event_callback(team, {"type": "app_uninstalled", "event_ts": "1.000001"})
    assert bot.driver.event(event).status == 200
    bot.settle()
    status, body = readyz(bot)
    stamp = bot.clock.now().strftime("%Y-%m-%d %H:%M")
    assert (status, body) == (
        503,
        {
            "ready": False,
            "reason": f"the app was uninstalled from workspace {team} (app_uninstalled at "
            f"{stamp} UTC): install it again and configure the new bot token",
        },
    )
    posted = len(bot.slack.posted_messages())
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "after the uninstall")
    reaction = payloads.reaction_added(
        team=team, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(reaction).status == 200
    bot.settle()
    # Work stopped; what was there stays.
    assert [c.text for c in bot.cases()] == ["before the uninstall"]
    assert len(bot.slack.posted_messages()) == posted


def test_a_rate_limited_read_opens_the_case_at_once_and_reads_its_text_when_slack_allows(
    bot: Bot,
) -> None:
    from sqlalchemy import select

    from bot.db.models import InboxEvent

    first = bot.slack.post_user_message(SUPPORT, CUSTOMER, "read later")
    second = bot.slack.post_user_message(SUPPORT, CUSTOMER, "read later too")
    bot.slack.fail("conversations.history", status=429, retry_after=30)
    for ts in (first, second):
        event = payloads.reaction_added(
            team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert bot.driver.event(event).status == 200
    start = bot.clock.now()
    bot.settle()
    # Both cases and both cards at once; the second did not even try to read.
    assert [(c.number, c.text, c.requester_id) for c in bot.cases()] == [
        (1, "", CUSTOMER),
        (2, "", CUSTOMER),
    ]
    assert {m.thread_ts for m in bot.slack.posted_messages(SUPPORT)} == {first, second}
    assert [c.status for c in bot.slack.calls("conversations.history")] == [429]
    with bot.runtime.sessions() as session:
        waiting = session.execute(
            select(InboxEvent.next_attempt_at).where(InboxEvent.status == "pending")
        ).scalars()
        assert set(waiting) == {start + timedelta(seconds=30)}
    bot.clock.advance(timedelta(seconds=29))
    bot.settle()
    assert [c.text for c in bot.cases()] == ["", ""]
    assert len(bot.slack.calls("conversations.history")) == 1
    bot.clock.advance(timedelta(seconds=1))
    bot.settle()
    # One read serves both.
    assert [c.text for c in bot.cases()] == ["read later", "read later too"]
    assert [c.status for c in bot.slack.calls("conversations.history")] == [429, 200]


CHANNELS = ("C0NONMKT01", "C0NONMKT02", "C0NONMKT03", "C0NONMKT04")


@pytest.fixture
def limited_bot(db_url: str) -> Iterator[Bot]:
    """The bot and a stand-in on one fast-forwarded clock, with the read limits of an app
    distributed outside the Slack Marketplace (history and replies: 1 a minute, 15 a page)."""
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with FakeSlack(clock=clock, rate_profile="non_marketplace") as fake:
        fake.add_user(CUSTOMER, "ana", "Ana")
        fake.add_user(ENGINEER, "sam", "Sam")
        for i, channel in enumerate(CHANNELS):
            fake.add_channel(channel, f"support-{i}", bot_member=True)
        yield from make_bot(db_url, fake, clock)
        assert_known_methods(fake)


def test_outside_the_marketplace_every_card_goes_out_at_once_and_the_text_follows(
    limited_bot: Bot,
) -> None:
    bot = limited_bot
    stamps = {}
    for i in range(20):
        channel = CHANNELS[i % len(CHANNELS)]
        ts = bot.slack.post_user_message(channel, CUSTOMER, f"problem {i}")
        stamps[ts] = (channel, f"problem {i}")
        event = payloads.reaction_added(
            team=bot.slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert bot.driver.event(event).status == 200
        bot.clock.advance(timedelta(seconds=1))  # 20 reactions within a minute
    bot.settle()
    # Every case is open and every card is out, none of them waiting for a read.
    cases = bot.cases()
    assert sorted(c.message_ts for c in cases) == sorted(stamps)
    assert all(c.requester_id == CUSTOMER for c in cases)
    cards = {m.thread_ts for ch in CHANNELS for m in bot.slack.posted_messages(ch)}
    assert cards == set(stamps)
    # One read was allowed; its 429 held every other read back: no second 429 in a minute.
    history = bot.slack.calls("conversations.history")
    assert [c.status for c in history] == [200, 429]
    # The texts follow, one read a minute, and no read ever meets a 429 it ignored.
    for _ in range(20):
        bot.clock.advance(timedelta(seconds=60))
        bot.settle()
    assert {c.message_ts: c.text for c in bot.cases()} == {ts: t for ts, (_, t) in stamps.items()}
    statuses = [c.status for c in bot.slack.calls("conversations.history")]
    assert statuses.count(429) == 1
    at = [c.at for c in bot.slack.calls("conversations.history") if c.status == 200]
    assert all((b - a).total_seconds() >= 60 for a, b in itertools.pairwise(at))


def test_a_modal_submitted_from_the_other_organisation_belongs_to_the_installing_workspace(
    bot: Bot,
) -> None:
    from sqlalchemy import select

    from bot.db.models import InboxEvent
    from tests.support.payloads import view_submission

    wait_identity(bot)
    ours = bot.slack.team_id
    payload = view_submission(
        "severity_modal",
        {
            "case": {"pick": {"type": "static_select", "selected_option": {"value": "1"}}},
            "level": {"pick": {"type": "static_select", "selected_option": {"value": "sev2"}}},
            "reason": {"pick": {"type": "plain_text_input", "value": None}},
        },
        user=CUSTOMER,
        team=OTHER_ORG,
        private_metadata=json.dumps({"channel": SUPPORT}),
    )
    payload["view"]["app_installed_team_id"] = ours
    assert bot.driver.interaction(payload).status == 200
    with bot.runtime.sessions() as session:
        rows = session.execute(select(InboxEvent.kind, InboxEvent.team_id)).all()
    assert [tuple(r) for r in rows] == [("command", ours)]


def test_the_official_slack_connect_example_opens_one_case_in_the_installing_workspace(
    db_url: str,
) -> None:
    """Bolt's Slack Connect reaction (envelope: the other organisation; authorizations: the
    installing workspace), with the trigger emoji in place of its heart_eyes."""
    example = json.loads(
        (FIXTURES / "reaction_added--events_shared_channels--valid_reaction_added.json").read_text()
    )
    item = example["event"]["item"]
    installed = example["authorizations"][0]["team_id"]
    clock = FakeClock(datetime.fromtimestamp(float(item["ts"]), UTC))
    with FakeSlack(clock=clock, team_id=installed, bot_user_id="W0BOTUSER1") as fake:
        fake.add_user("W111", "customer", team_id=example["team_id"])
        fake.add_channel(
            item["channel"], "shared", is_ext_shared=True,
            connected_team_ids=[installed, example["team_id"]],
        )  # fmt: skip
        assert fake.post_user_message(item["channel"], "W111", "shared outage") == item["ts"]
        for bot in make_bot(db_url, fake, clock):
            wait_identity(bot)
            first = copy.deepcopy(example)
            first["event"]["reaction"] = "ticket"
            # The same reaction as the installing workspace's own copy of the event.
            second = copy.deepcopy(first)
            second["event_id"], second["team_id"] = "Ev111COPY", installed
            for body in (first, second):
                assert bot.driver.event(body).status == 200
            bot.settle()
            assert [(c.team_id, c.number, c.message_ts) for c in bot.cases()] == [
                (installed, 1, item["ts"])
            ]
            cards = [m for m in fake.posted_messages(item["channel"]) if m.thread_ts == item["ts"]]
            assert len(cards) == 1
