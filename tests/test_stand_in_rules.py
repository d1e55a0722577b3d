"""Slack's rules as the stand-in enforces them (bot/demo/stand_in/rules.py), each proved
through an unmodified `slack_sdk.WebClient` (or `WebhookClient` for a response_url) on the
stand-in's fake clock: scopes, rate limits (and the non-Marketplace profile), trigger_id,
Block Kit, response_url, ephemeral messages, workspaces, and `relax`.

The clients are plain: no retry handler, so a 429 raises and its Retry-After can be read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.clock import FakeClock
from bot.demo.stand_in import rules
from bot.slack.surface import SCOPES
from tests.support.fake_slack import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, FakeSlack
from tests.support.signing import SlackDriver

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GENERAL = "C0GENERAL1"
RANDOM = "C0RANDOM01"
PRIVATE = "G0PRIVATE1"
MEMBER = "U0MEMBER01"
OUTSIDER = "U0OUTSIDE1"
OTHER_TEAM = "T0OTHERORG"

# Methods the stand-in answers only because the tests call them; the bot never does.
TEST_ONLY_METHODS = frozenset({"conversations.join", "reactions.add", "oauth.v2.access"})

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "A case"}}


def modal(title: str = "Open a case") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "open_case",
        "title": {"type": "plain_text", "text": title},
        "blocks": [SECTION],
    }


def button(action_id: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Take it"},
                    "action_id": action_id,
                }
            ],
        }
    ]


def section(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def seed(fake: FakeSlack) -> FakeSlack:
    fake.add_user(MEMBER, "mia", "Mia")
    fake.add_user(OUTSIDER, "otto", "Otto")
    fake.add_channel(GENERAL, "general", members=[MEMBER])
    fake.add_channel(RANDOM, "random", members=[MEMBER])
    fake.add_channel(PRIVATE, "secret", members=[MEMBER], is_private=True)
    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as fake:
        yield seed(fake)


def plain_client(fake: FakeSlack, token: str | None = None) -> WebClient:
    """A WebClient as constructed by default: its only retry handler is for connection
    errors, so a 429 is raised, not retried."""
    client = WebClient(base_url=fake.base_url, token=token or fake.token, timeout=5)
    assert not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers)
    return client


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return plain_client(fake)


def refused(call: Callable[[], Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def assert_ratelimited(call: Callable[[], Any], retry_after: str) -> None:
    e = refused(call)
    assert e.response.status_code == 429
    assert e.response["error"] == "ratelimited"
    assert e.response.headers["Retry-After"] == retry_after


# ---------------------------------------------------------------------------- scopes


def test_a_token_without_users_read_gets_missing_scope_on_users_info(clock: FakeClock):
    granted = tuple(s for s in SCOPES if s != "users:read")
    with FakeSlack(clock=clock, scopes=granted) as fake:
        seed(fake)
        e = refused(lambda: plain_client(fake).users_info(user=MEMBER))
    assert e.response.status_code == 200
    assert e.response["ok"] is False
    assert e.response["error"] == "missing_scope"
    assert e.response["needed"] == "users:read"
    assert e.response["provided"] == ",".join(sorted(granted))


def test_the_scope_a_conversation_method_needs_depends_on_the_conversation(clock: FakeClock):
    granted = tuple(s for s in SCOPES if s != "groups:history")
    with FakeSlack(clock=clock, scopes=granted) as fake:
        seed(fake)
        client = plain_client(fake)
        # A public channel needs channels:history, which the token has...
        assert client.conversations_history(channel=GENERAL)["ok"] is True
        # ...a private one needs groups:history, which it lacks.
        e = refused(lambda: client.conversations_history(channel=PRIVATE))
    assert e.response["error"] == "missing_scope"
    assert e.response["needed"] == "groups:history"
    assert e.response["provided"] == ",".join(sorted(granted))


def test_relax_scopes_lets_a_call_without_the_scope_through(clock: FakeClock):
    granted = tuple(s for s in SCOPES if s != "users:read")
    with FakeSlack(clock=clock, scopes=granted) as fake:
        seed(fake)
        client = plain_client(fake)
        assert refused(lambda: client.users_info(user=MEMBER)).response["error"] == (
            "missing_scope"
        )
        fake.relax("scopes", why="this test reads a user with a token lacking users:read")
        assert client.users_info(user=MEMBER)["user"]["id"] == MEMBER
        assert fake.relaxed == {"scopes": "this test reads a user with a token lacking users:read"}


def test_every_scope_the_bots_calls_need_is_in_the_manifest_scopes():
    """Derived from the stand-in's table: every Web API method the stand-in answers, less
    those only the tests call, over every kind of conversation a method can touch."""
    bot_methods = sorted(set(FakeSlack.METHODS) - TEST_ONLY_METHODS)
    # Every method the bot calls has an entry in the table (a method missing from it would
    # silently need no scope).
    unlisted = [
        m
        for m in bot_methods
        if m not in rules.METHOD_SCOPES and m not in rules.CONVERSATION_SCOPES
    ]
    assert unlisted == []
    # The test-only methods need scopes the bot does not ask for, so leaving them out
    # matters.
    assert rules.every_scope(sorted(TEST_ONLY_METHODS)) == {"channels:join", "reactions:write"}

    # The conversations each method is called on by the bot: conversations.info only asks
    # whether a channel is shared (never a DM); history and replies also find a page the
    # bot sent in a direct message.
    kinds = {
        "conversations.info": ("public", "private"),
        "conversations.history": ("public", "private", "im"),
        "conversations.replies": ("public", "private", "im"),
    }
    needed = {
        scope
        for m in bot_methods
        for kind in kinds.get(m, (None,))
        for scope in rules.needed_scopes(m, kind)
    }
    assert {"channels:read", "groups:read", "channels:history", "im:history"} <= needed
    for kind, scope in (("public", "channels:read"), ("private", "groups:read"), ("im", "im:read")):
        assert rules.needed_scopes("conversations.info", kind) == (scope,)
    missing = sorted(needed - set(SCOPES))
    assert missing == [], (
        f"scopes the bot's calls need but bot.slack.surface.SCOPES lacks: {missing}"
    )


# ---------------------------------------------------------------------------- rate limits


def test_post_message_bursts_25_per_channel_then_429_with_retry_after_1(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    for i in range(25):
        assert client.chat_postMessage(channel=GENERAL, text=f"post {i}")["ok"] is True
    # The channel's bucket is empty and refills one a second.
    assert_ratelimited(lambda: client.chat_postMessage(channel=GENERAL, text="26th"), "1")
    # Another channel has a bucket of its own.
    assert client.chat_postMessage(channel=RANDOM, text="elsewhere")["ok"] is True

    clock.advance(timedelta(seconds=1))
    assert client.chat_postMessage(channel=GENERAL, text="after a second")["ok"] is True
    assert_ratelimited(lambda: client.chat_postMessage(channel=GENERAL, text="again"), "1")

    # The refused posts were not stored.
    assert [m.text for m in fake.posted_messages(GENERAL)][-2:] == ["post 24", "after a second"]
    assert len(fake.posted_messages(GENERAL)) == 26
    assert [c.status for c in fake.calls("chat.postMessage")].count(429) == 2


def test_chat_update_is_tier_3_per_workspace_50_then_429(client: WebClient, clock: FakeClock):
    first = client.chat_postMessage(channel=GENERAL, text="card")["ts"]
    second = client.chat_postMessage(channel=RANDOM, text="card")["ts"]
    for i in range(50):
        assert client.chat_update(channel=GENERAL, ts=first, text=f"v{i}")["ok"] is True
    # The bucket covers every channel of the workspace; it refills 50 a minute, so the next
    # call is possible in 1.2 s: Retry-After rounds up to 2.
    assert_ratelimited(lambda: client.chat_update(channel=RANDOM, ts=second, text="x"), "2")
    clock.advance(timedelta(seconds=2))
    assert client.chat_update(channel=RANDOM, ts=second, text="later")["ok"] is True


def test_relax_rate_limits_lets_the_26th_post_through(fake: FakeSlack, client: WebClient):
    for i in range(25):
        client.chat_postMessage(channel=GENERAL, text=f"post {i}")
    assert_ratelimited(lambda: client.chat_postMessage(channel=GENERAL, text="26th"), "1")
    fake.relax("rate_limits", why="this test floods one channel on purpose")
    assert client.chat_postMessage(channel=GENERAL, text="26th")["ok"] is True


def test_internal_apps_read_history_at_tier_3_and_get_the_page_they_ask_for(
    fake: FakeSlack, client: WebClient
):
    for i in range(20):
        fake.post_user_message(GENERAL, MEMBER, f"message {i}")
    page = client.conversations_history(channel=GENERAL, limit=200)
    assert len(page["messages"]) == 20
    assert page["has_more"] is False
    assert client.conversations_history(channel=GENERAL, limit=200)["ok"] is True


def test_non_marketplace_apps_read_history_once_a_minute_15_a_page(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    fake.set_rate_profile("non_marketplace")
    for i in range(20):
        fake.post_user_message(GENERAL, MEMBER, f"message {i}")

    page = client.conversations_history(channel=GENERAL, limit=200)
    assert len(page["messages"]) == 15
    assert page["has_more"] is True
    assert page["response_metadata"]["next_cursor"]
    # Newest first: the 15 newest.
    assert [m["text"] for m in page["messages"]] == [f"message {i}" for i in range(19, 4, -1)]

    assert_ratelimited(lambda: client.conversations_history(channel=GENERAL, limit=200), "60")
    # conversations.replies has a bucket of its own, as limited.
    root = page["messages"][0]["ts"]
    assert client.conversations_replies(channel=GENERAL, ts=root)["ok"] is True
    assert_ratelimited(lambda: client.conversations_replies(channel=GENERAL, ts=root), "60")

    clock.advance(timedelta(seconds=60))
    nxt = client.conversations_history(
        channel=GENERAL, limit=200, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in nxt["messages"]] == [f"message {i}" for i in range(4, -1, -1)]
    assert nxt["has_more"] is False


def test_non_marketplace_retry_after_counts_down_to_the_next_token(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    """One call a minute: 59 s after it the next token is 1 s away; 30 s after, 30 s."""
    fake.set_rate_profile("non_marketplace")
    assert client.conversations_history(channel=GENERAL)["ok"] is True
    clock.advance(timedelta(seconds=59))
    assert_ratelimited(lambda: client.conversations_history(channel=GENERAL), "1")
    clock.advance(timedelta(seconds=1))
    assert client.conversations_history(channel=GENERAL)["ok"] is True
    clock.advance(timedelta(seconds=30))
    assert_ratelimited(lambda: client.conversations_history(channel=GENERAL), "30")


# ---------------------------------------------------------------------------- trigger_id


def test_a_trigger_is_good_for_3_seconds_and_once(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    fake.issue_trigger("13345224609.738474920.8088930838d88f008e0")
    clock.advance(timedelta(seconds=2.9))
    opened = client.views_open(trigger_id="13345224609.738474920.8088930838d88f008e0", view=modal())
    assert opened["view"]["title"]["text"] == "Open a case"

    e = refused(
        lambda: client.views_open(
            trigger_id="13345224609.738474920.8088930838d88f008e0", view=modal()
        )
    )
    assert e.response["error"] == "exchanged_trigger_id"
    assert len(fake.opened_views()) == 1


def test_a_trigger_used_after_3_seconds_has_expired(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    fake.issue_trigger("trigger-late")
    clock.advance(timedelta(seconds=3.1))
    e = refused(lambda: client.views_open(trigger_id="trigger-late", view=modal()))
    assert e.response["error"] == "expired_trigger_id"
    assert fake.opened_views() == []


def test_a_trigger_slack_never_issued_is_invalid(fake: FakeSlack, client: WebClient):
    e = refused(lambda: client.views_open(trigger_id="made-up-trigger", view=modal()))
    assert e.response["error"] == "invalid_trigger_id"


def test_the_driver_mints_the_trigger_of_the_request_it_sends(
    fake: FakeSlack, client: WebClient, clock: FakeClock
):
    # The driver tells the stand-in about the trigger as Slack would mint it with the
    # request; nothing listens at this address, so the request itself is answered 404.
    driver = SlackDriver(f"http://127.0.0.1:{fake.port}", "secret", clock, slack=fake)
    answer = driver.command(
        {"command": "/case", "text": "", "user_id": MEMBER, "trigger_id": "cmd-1"}
    )
    assert answer.status == 404
    assert client.views_open(trigger_id="cmd-1", view=modal())["ok"] is True


def test_relax_trigger_id_opens_a_view_on_an_unissued_trigger(fake: FakeSlack, client: WebClient):
    fake.relax("trigger_id", why="this test opens a modal without a request that carries one")
    assert client.views_open(trigger_id="never-issued", view=modal())["ok"] is True


# ---------------------------------------------------------------------------- Block Kit


def test_an_action_id_over_255_characters_is_invalid_blocks(fake: FakeSlack, client: WebClient):
    assert client.chat_postMessage(channel=GENERAL, text="ok", blocks=button("a" * 255))["ok"]
    e = refused(
        lambda: client.chat_postMessage(channel=GENERAL, text="x", blocks=button("a" * 256))
    )
    assert e.response.status_code == 200
    assert e.response["error"] == "invalid_blocks"
    assert any("action_id" in m for m in e.response["response_metadata"]["messages"])
    assert len(fake.posted_messages(GENERAL)) == 1


def test_a_section_over_3000_characters_is_invalid_blocks(client: WebClient):
    assert client.chat_postMessage(channel=GENERAL, text="ok", blocks=section("x" * 3000))["ok"]
    e = refused(
        lambda: client.chat_postMessage(channel=GENERAL, text="x", blocks=section("x" * 3001))
    )
    assert e.response["error"] == "invalid_blocks"
    assert any("/blocks/0" in m for m in e.response["response_metadata"]["messages"])
    # chat.update is held to the same limits.
    ts = client.chat_postMessage(channel=GENERAL, text="card")["ts"]
    e = refused(
        lambda: client.chat_update(channel=GENERAL, ts=ts, text="x", blocks=section("x" * 3001))
    )
    assert e.response["error"] == "invalid_blocks"


def test_a_modal_title_over_24_characters_is_invalid_arguments(fake: FakeSlack, client: WebClient):
    fake.issue_trigger("t-title")
    e = refused(lambda: client.views_open(trigger_id="t-title", view=modal("x" * 25)))
    assert e.response["error"] == "invalid_arguments"
    assert any("title" in m for m in e.response["response_metadata"]["messages"])
    # The Home tab is checked the same way.
    home = {"type": "home", "blocks": section("x" * 3001)}
    e = refused(lambda: client.views_publish(user_id=MEMBER, view=home))
    assert e.response["error"] == "invalid_arguments"
    assert fake.opened_views() == []
    assert fake.home_view(MEMBER) is None


def test_relax_blocks_lets_an_oversized_section_through(fake: FakeSlack, client: WebClient):
    fake.relax("blocks", why="this test stores a message Slack would refuse")
    assert client.chat_postMessage(channel=GENERAL, text="x", blocks=section("x" * 3001))["ok"]


# ---------------------------------------------------------------------------- response_url


def test_a_response_url_takes_5_posts_then_answers_404_used_url(fake: FakeSlack):
    hook = WebhookClient(fake.response_url("cmd"), timeout=5)
    for i in range(5):
        sent = hook.send(text=f"reply {i}")
        assert (sent.status_code, sent.body) == (200, '{"ok": true}')
    sixth = hook.send(text="reply 5")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    assert [r["text"] for r in fake.responses("cmd")] == [f"reply {i}" for i in range(5)]


def test_a_response_url_expires_after_30_minutes(fake: FakeSlack, clock: FakeClock):
    hook = WebhookClient(fake.response_url("late"), timeout=5)
    clock.advance(timedelta(minutes=29))
    assert hook.send(text="in time").status_code == 200
    clock.advance(timedelta(minutes=2))  # 31 minutes after it was issued
    late = hook.send(text="too late")
    assert (late.status_code, late.body) == (404, "expired_url")


def test_a_response_url_slack_never_issued_is_invalid(fake: FakeSlack):
    hook = WebhookClient(f"http://127.0.0.1:{fake.port}/response/never-issued", timeout=5)
    sent = hook.send(text="hello")
    assert (sent.status_code, sent.body) == (404, "invalid_url")


def test_relax_response_url_allows_a_sixth_post(fake: FakeSlack):
    hook = WebhookClient(fake.response_url("many"), timeout=5)
    for i in range(5):
        hook.send(text=f"reply {i}")
    fake.relax("response_url", why="this test replays a command's answers")
    assert hook.send(text="reply 5").status_code == 200


# ---------------------------------------------------------------------------- ephemeral


def test_an_ephemeral_message_goes_only_to_a_member_of_the_channel(
    fake: FakeSlack, client: WebClient
):
    assert client.chat_postEphemeral(channel=GENERAL, user=MEMBER, text="only you")["ok"]
    e = refused(lambda: client.chat_postEphemeral(channel=GENERAL, user=OUTSIDER, text="no"))
    assert e.response["error"] == "user_not_in_channel"
    assert [x["user"] for x in fake.ephemeral_messages(GENERAL)] == [MEMBER]


# ---------------------------------------------------------------------------- workspaces


def install_other_workspace(fake: FakeSlack) -> WebClient:
    code, token = fake.grant_install(OTHER_TEAM, "Other Org", OUTSIDER)
    anonymous = WebClient(base_url=fake.base_url, timeout=5)
    granted = anonymous.oauth_v2_access(
        client_id=OAUTH_CLIENT_ID, client_secret=OAUTH_CLIENT_SECRET, code=code
    )
    assert granted["access_token"] == token
    return plain_client(fake, token)


def test_a_token_sees_only_its_own_workspaces_channels(fake: FakeSlack, client: WebClient):
    other = install_other_workspace(fake)
    assert other.auth_test()["team_id"] == OTHER_TEAM
    fake.add_channel("C0THEIRS01", "theirs", team_id=OTHER_TEAM)
    fake.add_channel(
        "C0SHARED01", "shared", is_ext_shared=True, connected_team_ids=[fake.team_id, OTHER_TEAM]
    )

    for call in (
        lambda: other.conversations_info(channel=GENERAL),
        lambda: other.chat_postMessage(channel=GENERAL, text="hi"),
        lambda: other.conversations_history(channel=GENERAL),
        lambda: client.conversations_info(channel="C0THEIRS01"),
    ):
        assert refused(call).response["error"] == "channel_not_found"
    assert other.conversations_info(channel="C0THEIRS01")["channel"]["id"] == "C0THEIRS01"
    # A channel shared between the two is seen by both.
    assert other.conversations_info(channel="C0SHARED01")["ok"] is True
    assert client.conversations_info(channel="C0SHARED01")["ok"] is True

    fake.relax("teams", why="this test reads across workspaces")
    assert other.conversations_info(channel=GENERAL)["channel"]["id"] == GENERAL


# ---------------------------------------------------------------------------- relax


@pytest.mark.parametrize("why", ["", "   "])
def test_relax_without_a_reason_raises(fake: FakeSlack, why: str):
    with pytest.raises(ValueError, match="say why"):
        fake.relax("scopes", why=why)
    assert fake.relaxed == {}
    assert fake.enforces("scopes")


def test_relax_an_unknown_rule_raises(fake: FakeSlack):
    with pytest.raises(ValueError, match="unknown rule"):
        fake.relax("politeness", why="there is no such rule")
    assert fake.relaxed == {}
