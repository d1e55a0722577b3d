"""The Slack Web API stand-in, exercised through slack_sdk's own WebClient."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from bot.clock import FakeClock
from bot.slack.surface import SCOPES
from tests.support.fake_slack import FakeSlack

GENERAL = "C0GENERAL"
HUMAN = "U0ALICE"


# These tests also call methods the bot never does (a DM's info, reactions.add, joining a
# channel), so the token has those scopes on top of the app's.
TEST_SCOPES = (*SCOPES, "im:read", "reactions:write", "channels:join")


@pytest.fixture
def fake():
    start = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    with FakeSlack(clock=start, scopes=TEST_SCOPES) as fake:
        fake.add_user(HUMAN, "alice", "Alice Liddell", "Europe/London")
        fake.add_channel(GENERAL, "general", members=[HUMAN])
        yield fake


def client_for(fake: FakeSlack, **kwargs) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.base_url, timeout=5, **kwargs)


@pytest.fixture
def client(fake):
    return client_for(fake, retry_handlers=[])


def slack_error(call) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


# ---------------------------------------------------------------- auth and the call log


def test_auth_test_answers_like_bolts_mock_server(client):
    # Values and fields as in webapi_auth.test.bot_bolt.json.
    assert client.auth_test().data == {
        "ok": True,
        "url": "https://subarachnoid.slack.com/",
        "team": "Subarachnoid Workspace",
        "user": "bot",
        "team_id": "T0G9PQBBK",
        "user_id": "W23456789",
        "bot_id": "BZYBOTHED",
    }


def test_wrong_or_missing_token_is_refused_and_never_logged(fake):
    wrong = WebClient(token="xoxb-not-the-right-one", base_url=fake.base_url, retry_handlers=[])
    assert slack_error(lambda: wrong.chat_postMessage(channel=GENERAL, text="hi")) == (
        "invalid_auth"
    )
    anonymous = WebClient(base_url=fake.base_url, retry_handlers=[])
    assert slack_error(anonymous.auth_test) == "not_authed"
    # A token sent as a form field and in a query string is checked, then dropped.
    client_for(fake).api_call("auth.test", params={"token": fake.token})
    url = fake.base_url + "auth.test?token=" + fake.token
    with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=5) as r:
        assert json.loads(r.read())["ok"] is True

    calls = fake.calls()
    assert [(c.token_present, c.token_valid) for c in calls] == [
        (True, False),
        (False, False),
        (True, True),
        (True, True),
    ]
    assert fake.posted_messages() == []
    logged = repr(calls)
    assert fake.token not in logged
    assert "xoxb-not-the-right-one" not in logged
    assert all("authorization" not in {k.lower() for k in c.headers} for c in calls)


def test_every_call_is_logged_with_status_headers_and_time(fake, client):
    client.chat_postMessage(channel=GENERAL, text="hello")
    (call,) = fake.calls("chat.postMessage")
    assert call.status == 200 and call.ok
    assert call.params == {"channel": GENERAL, "text": "hello"}
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert call.response["ts"] == fake.posted_messages()[0].ts


def test_unknown_method(client):
    assert slack_error(lambda: client.api_call("chat.teleport")) == "unknown_method"


# ---------------------------------------------------------------- posting


def test_post_message_accepts_json_and_form_bodies(fake, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*case* opened"}}]
    as_json = client.chat_postMessage(channel=GENERAL, text="case opened", blocks=blocks)
    as_form = client.api_call(
        "chat.postMessage",
        params={"channel": GENERAL, "text": "case opened", "blocks": json.dumps(blocks)},
    )
    content_types = [c.headers["Content-Type"] for c in fake.calls("chat.postMessage")]
    assert content_types[0].startswith("application/json")
    assert content_types[1] == "application/x-www-form-urlencoded"
    for response in (as_json, as_form):
        stored = fake.message(GENERAL, response["ts"])
        assert stored.blocks == blocks
        assert stored.text == "case opened"
        assert stored.bot_id == fake.bot_id and stored.user == fake.bot_user_id
        assert response["message"]["blocks"] == blocks
    assert [m.ts for m in fake.posted_messages(GENERAL)] == [as_json["ts"], as_form["ts"]]


def test_minted_ts_are_unique_and_increasing_even_with_a_frozen_clock(fake):
    client = client_for(fake)
    human_ts = fake.post_user_message(GENERAL, HUMAN, "first")
    results: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        ts = client.chat_postMessage(channel=GENERAL, text=f"n{i}")["ts"]
        with lock:
            results.append(ts)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 16
    assert human_ts == "1767603600.000000"
    assert all(float(ts) > float(human_ts) for ts in results)
    stored = [m.ts for m in fake.messages(GENERAL)]
    assert stored == sorted(stored, key=float)


def test_not_in_channel_and_channel_not_found(fake, client):
    fake.add_channel("C0OUTSIDE", "outside", bot_member=False)
    assert slack_error(lambda: client.chat_postMessage(channel="C0OUTSIDE", text="x")) == (
        "not_in_channel"
    )
    assert slack_error(lambda: client.chat_postMessage(channel="C0NOPE", text="x")) == (
        "channel_not_found"
    )
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns first, Slack refuses
        assert slack_error(lambda: client.chat_postMessage(channel=GENERAL)) == "no_text"
    assert [c.ok for c in fake.calls("chat.postMessage")] == [False, False, False]
    assert fake.posted_messages() == []


def test_post_to_a_user_id_lands_in_the_bots_dm(fake, client):
    response = client.chat_postMessage(channel=HUMAN, text="you are on call")
    assert response["channel"].startswith("D")
    info = client.conversations_info(channel=response["channel"])["channel"]
    assert info["is_im"] is True and info["user"] == HUMAN


def test_threads_reply_counts_and_permalinks(fake, client):
    root = fake.post_user_message(GENERAL, HUMAN, "the site is down")
    first = client.chat_postMessage(channel=GENERAL, thread_ts=root, text="case 1 opened")
    human_reply = fake.post_user_message(GENERAL, HUMAN, "thanks", thread_ts=root)
    # Replying to a reply goes to the same thread.
    nested = client.chat_postMessage(channel=GENERAL, thread_ts=human_reply, text="noted")
    assert nested["message"]["thread_ts"] == root

    parent = fake.message(GENERAL, root)
    assert parent.thread_ts == root and parent.reply_count == 3
    assert parent.reply_users == [fake.bot_user_id, HUMAN]
    assert parent.latest_reply == nested["ts"]

    history = client.conversations_history(channel=GENERAL)["messages"]
    assert [m["ts"] for m in history] == [root]

    replies = client.conversations_replies(channel=GENERAL, ts=human_reply)["messages"]
    assert [m["ts"] for m in replies] == [root, first["ts"], human_reply, nested["ts"]]
    assert replies[1]["parent_user_id"] == HUMAN

    link = client.chat_getPermalink(channel=GENERAL, message_ts=first["ts"])["permalink"]
    assert link == (
        f"https://subarachnoid.slack.com/archives/{GENERAL}/p{first['ts'].replace('.', '')}"
        f"?thread_ts={root}&cid={GENERAL}"
    )
    assert slack_error(lambda: client.chat_getPermalink(channel=GENERAL, message_ts="1.2")) == (
        "message_not_found"
    )
    assert slack_error(lambda: client.conversations_replies(channel=GENERAL, ts="1.2")) == (
        "thread_not_found"
    )


def test_thread_ts_that_is_not_a_timestamp_is_rejected(client):
    assert slack_error(
        lambda: client.chat_postMessage(channel=GENERAL, thread_ts="0x", text="x")
    ) == ("invalid_thread_ts")


def test_chat_update_edits_only_the_bots_messages(fake, client):
    posted = client.chat_postMessage(channel=GENERAL, text="case 1: open")
    human = fake.post_user_message(GENERAL, HUMAN, "mine")
    updated = client.chat_update(channel=GENERAL, ts=posted["ts"], text="case 1: closed")
    assert updated["message"]["text"] == "case 1: closed"
    assert fake.message(GENERAL, posted["ts"]).text == "case 1: closed"
    assert fake.message(GENERAL, posted["ts"]).edited["user"] == fake.bot_user_id
    # posted_messages keeps what was posted.
    assert fake.posted_messages()[0].text == "case 1: open"
    assert slack_error(lambda: client.chat_update(channel=GENERAL, ts=human, text="x")) == (
        "cant_update_message"
    )
    assert slack_error(lambda: client.chat_update(channel=GENERAL, ts="1.5", text="x")) == (
        "message_not_found"
    )


def test_post_ephemeral(fake, client):
    fake.add_user("U0BOB", "bob")
    response = client.chat_postEphemeral(channel=GENERAL, user=HUMAN, text="only you")
    assert response["message_ts"]
    assert fake.ephemeral_messages(user=HUMAN)[0]["text"] == "only you"
    assert slack_error(
        lambda: client.chat_postEphemeral(channel=GENERAL, user="U0BOB", text="x")
    ) == ("user_not_in_channel")


# ---------------------------------------------------------------- reading


def test_history_fetches_one_message_by_ts(fake, client):
    older = fake.post_user_message(GENERAL, HUMAN, "one")
    middle = fake.post_user_message(GENERAL, HUMAN, "two")
    fake.post_user_message(GENERAL, HUMAN, "three")

    hit = client.conversations_history(channel=GENERAL, latest=middle, inclusive=True, limit=1)
    assert [m["text"] for m in hit["messages"]] == ["two"]
    assert hit["has_more"] is True
    before = client.conversations_history(channel=GENERAL, latest=middle, limit=1)
    assert [m["ts"] for m in before["messages"]] == [older]
    exact = client.conversations_history(
        channel=GENERAL, oldest=middle, latest=middle, inclusive=True
    )
    assert [m["ts"] for m in exact["messages"]] == [middle]
    first = client.conversations_history(channel=GENERAL, latest=older, inclusive=True, limit=1)
    assert [m["ts"] for m in first["messages"]] == [older] and first["has_more"] is False
    # The cursor of a one-message answer pages on to the older messages.
    cursor = hit["response_metadata"]["next_cursor"]
    rest = client.conversations_history(
        channel=GENERAL, latest=middle, inclusive=True, limit=1, cursor=cursor
    )
    assert [m["ts"] for m in rest["messages"]] == [older]
    # A reply is not in the channel's history: its ts finds the message before it.
    reply = fake.post_user_message(GENERAL, HUMAN, "reply", thread_ts=older)
    around = client.conversations_history(channel=GENERAL, latest=reply, inclusive=True, limit=1)
    assert [m["text"] for m in around["messages"]] == ["three"]


def test_history_pages_newest_first(fake, client):
    texts = [f"m{i}" for i in range(5)]
    for text in texts:
        fake.post_user_message(GENERAL, HUMAN, text)
    seen, cursor = [], None
    while True:
        page = client.conversations_history(channel=GENERAL, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == texts[::-1]


def test_reading_needs_membership_unless_configured(fake, client):
    fake.add_channel("C0PRIV", "secret", bot_member=False, is_private=True)
    fake.add_channel("C0PUB", "public", bot_member=False)
    fake.add_channel("C0OPEN", "open", bot_member=False, readable_without_membership=True)
    ts = fake.post_user_message("C0PUB", HUMAN, "help")
    for channel in ("C0PRIV", "C0PUB"):
        assert slack_error(lambda c=channel: client.conversations_history(channel=c)) == (
            "not_in_channel"
        )
    assert slack_error(lambda: client.conversations_replies(channel="C0PUB", ts=ts)) == (
        "not_in_channel"
    )
    assert client.conversations_history(channel="C0OPEN")["messages"] == []

    assert slack_error(lambda: client.conversations_join(channel="C0PRIV")) == (
        "method_not_supported_for_channel_type"
    )
    joined = client.conversations_join(channel="C0PUB")
    assert joined["channel"]["is_member"] is True
    assert client.conversations_history(channel="C0PUB")["messages"][0]["ts"] == ts
    assert client.conversations_join(channel="C0PUB")["warning"] == "already_in_channel"


def test_conversations_info_reports_slack_connect(fake, client):
    fake.add_channel("C0SHARED", "shared", is_ext_shared=True, connected_team_ids=["T0OTHER"])
    shared = client.conversations_info(channel="C0SHARED")["channel"]
    assert shared["is_ext_shared"] is True and shared["is_member"] is True
    assert shared["connected_team_ids"] == ["T0OTHER"]
    plain = client.conversations_info(channel=GENERAL, include_num_members=True)["channel"]
    assert plain["is_ext_shared"] is False and plain["num_members"] == 2
    assert slack_error(lambda: client.conversations_info(channel="C0NOPE")) == ("channel_not_found")


def test_users_info_and_usergroups(fake, client):
    user = client.users_info(user=HUMAN)["user"]
    assert user["name"] == "alice" and user["real_name"] == "Alice Liddell"
    assert user["tz"] == "Europe/London" and user["tz_offset"] == 0
    assert user["profile"]["real_name"] == "Alice Liddell"
    assert slack_error(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"

    fake.add_usergroup("S0ONCALL", [HUMAN, "U0BOB"])
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == [HUMAN, "U0BOB"]
    assert slack_error(lambda: client.usergroups_users_list(usergroup="S0X")) == ("no_such_subteam")


def test_reactions_add(fake, client):
    ts = fake.post_user_message(GENERAL, HUMAN, "help")
    fake.react(GENERAL, ts, HUMAN, "ticket")
    client.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")
    assert slack_error(
        lambda: client.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")
    ) == ("already_reacted")
    assert fake.message(GENERAL, ts).reactions == [
        {"name": "ticket", "users": [HUMAN], "count": 1},
        {"name": "eyes", "users": [fake.bot_user_id], "count": 1},
    ]


def test_views_open_and_publish(fake, client):
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
    modal = {
        "type": "modal",
        "callback_id": "case",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [section],
    }
    fake.issue_trigger("1.2.abc")  # as Slack mints it with the request that carries it
    opened = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "case"
    assert fake.opened_views()[0]["id"] == opened["id"]
    client.views_publish(user_id=HUMAN, view={"type": "home", "blocks": [section]})
    assert fake.home_view(HUMAN)["type"] == "home"


# ---------------------------------------------------------------- faults


def test_rate_limit_then_retry_posts_once(fake):
    fake.fail("chat.postMessage", status=429, retry_after=0)
    client = client_for(fake, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    client.chat_postMessage(channel=GENERAL, text="case opened")
    calls = fake.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
    assert calls[0].fault == "http 429"
    assert len(fake.posted_messages()) == 1


def test_rate_limit_answer_carries_retry_after(fake, client):
    fake.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=GENERAL, text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"


def test_server_error_then_retry_posts_once(fake):
    fake.fail("chat.postMessage", status=500)
    handler = ServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    client_for(fake, retry_handlers=[handler]).chat_postMessage(channel=GENERAL, text="x")
    assert [c.status for c in fake.calls("chat.postMessage")] == [500, 200]
    assert len(fake.posted_messages()) == 1


def test_injected_api_error_is_http_200(fake, client):
    fake.fail("conversations.info", error="channel_not_found", times=2)
    for _ in range(2):
        assert slack_error(lambda: client.conversations_info(channel=GENERAL)) == (
            "channel_not_found"
        )
    assert client.conversations_info(channel=GENERAL)["ok"] is True
    assert [c.status for c in fake.calls()] == [200, 200, 200]


def test_dropped_connection(fake):
    fake.fail("chat.postMessage", drop=True)
    with pytest.raises(ConnectionError):
        client_for(fake, retry_handlers=[]).chat_postMessage(channel=GENERAL, text="x")
    fake.fail("chat.postMessage", drop=True)
    handler = ConnectionErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    client_for(fake, retry_handlers=[handler]).chat_postMessage(channel=GENERAL, text="x")
    assert [c.status for c in fake.calls("chat.postMessage")] == [None, None, 200]
    assert len(fake.posted_messages()) == 1


def test_faults_are_consumed_in_order_per_method(fake, client):
    fake.fail("chat.postMessage", error="fatal_error")
    fake.fail("chat.postMessage", status=503)
    fake.fail("auth.test", error="account_inactive")
    assert fake.pending_faults() == 3 and fake.pending_faults("chat.postMessage") == 2
    assert client.users_info(user=HUMAN)["ok"] is True
    assert slack_error(lambda: client.chat_postMessage(channel=GENERAL, text="x")) == (
        "fatal_error"
    )
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=GENERAL, text="x")
    assert info.value.response.status_code == 503
    assert client.chat_postMessage(channel=GENERAL, text="x")["ok"] is True
    assert fake.pending_faults() == 1
    fake.reset()
    assert fake.pending_faults() == 0 and fake.calls() == [] and fake.posted_messages() == []
    assert client.auth_test()["ok"] is True


def test_delay_holds_the_answer(fake, client):
    fake.delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3
    assert fake.calls("auth.test")[0].fault == "delay 0.3s"
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.3


def test_delay_past_the_client_timeout_still_posts(fake):
    # Slack finishes work the client gave up on; that is how duplicate posts happen.
    fake.delay("chat.postMessage", 0.5)
    impatient = WebClient(token=fake.token, base_url=fake.base_url, timeout=0.1, retry_handlers=[])
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel=GENERAL, text="x")
    (call,) = fake.wait_for("chat.postMessage", timeout=2)
    assert call.ok
    assert len(fake.posted_messages()) == 1


# ---------------------------------------------------------------- response URLs and waiting


def test_response_url_records_json(fake):
    url = fake.response_url("sev-1")
    assert WebhookClient(url).send(text="Severity set", response_type="ephemeral").status_code == (
        200
    )
    WebhookClient(fake.response_url("other")).send(text="elsewhere")
    assert fake.responses("sev-1") == [{"text": "Severity set", "response_type": "ephemeral"}]
    assert len(fake.responses()) == 2
    fake.fail("response_url", status=404)
    assert WebhookClient(url).send(text="late").status_code == 404


def test_wait_for_sees_calls_from_other_threads(fake, client):
    def later():
        time.sleep(0.1)
        client.chat_postMessage(channel=GENERAL, text="a")
        client.chat_postMessage(channel=GENERAL, text="b")

    threading.Thread(target=later).start()
    found = fake.wait_for(lambda c: c.method == "chat.postMessage" and c.ok, count=2, timeout=5)
    assert [c.params["text"] for c in found] == ["a", "b"]
    with pytest.raises(TimeoutError, match=r"chat\.update"):
        fake.wait_for("chat.update", timeout=0.05)


def test_stop_closes_the_port():
    fake = FakeSlack(scopes=TEST_SCOPES).start()
    url = fake.base_url
    assert WebClient(token=fake.token, base_url=url).auth_test()["ok"]
    fake.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "auth.test", timeout=1)
