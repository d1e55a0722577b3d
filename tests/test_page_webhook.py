"""A `webhook:` page target against a local receiver that checks the signature itself, the
way an external pager would: the first POST is answered 500 and retried after the backoff
on the fake clock, with the same delivery id and body; a receiver holding another secret,
or a body altered on the way, fails the check. The receiver is plain http, so its target is
marked `insecure: true`, which an http target needs (tests/test_webhook_lane.py holds the
call's deadline, redirects and the webhooks' own lane)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import webhooks
from bot.policies import Policy, PolicyProblems
from bot.slack.errors import HttpStatusError
from tests.conftest import CUSTOMER, SUPPORT
from tests.support.cases import open_case
from tests.support.clock import forward
from tests.support.logscan import COLLECTOR
from tests.support.page_webhooks import (
    LEVEL_1,
    OTHER_SECRET,
    SECRET,
    Receiver,
    local_hook,
    serve_receiver,
    webhook_bot,
    webhook_rows,
)
from tests.support.paging import (
    LEAD,
    ONCALL,
    POLICY,
    PRIMARY,
    dm_line,
    page_line,
    pages,
    paging_bot_for,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver(SECRET)


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bot's urlopen honours HTTP(S)_PROXY; the receiver is local, so go to it directly.
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1")


def test_a_page_webhook_is_signed_and_retried_after_a_500(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    for bot in webhook_bot(db_url, tmp_path, receiver.url, SECRET):
        open_case(bot)
        [first] = receiver.requests
        assert (first.valid, first.status) == (True, 500)
        # The webhook row comes after the Slack pages of its step: they went out at once.
        level1 = "level 1 of the escalation chain, round 1"
        assert pages(bot) == [
            ("03:00", PRIMARY, dm_line(bot, level1)),
            ("03:00", ONCALL, page_line(bot, f"<@{PRIMARY}> paged", level1)),
        ]
        [(row_id, *state)] = webhook_rows(bot)
        assert state == ["pending", 1, "03:00:02", None]  # backoff 2**1 s on the bot's clock

        bot.clock.advance(timedelta(seconds=1))
        bot.settle()
        assert len(receiver.requests) == 1  # not before the backoff is over

        bot.clock.advance(timedelta(seconds=1))
        bot.settle()
        [_, second] = receiver.requests
        assert (second.valid, second.status) == (True, 200)
        assert second.body == first.body
        for request in (first, second):
            assert request.header(webhooks.DELIVERY) == str(row_id)
            assert request.header("Content-Type") == "application/json"
        [(_, *state)] = webhook_rows(bot)
        assert (state[0], state[1], state[3]) == ("sent", 2, "03:00:02")

        [case] = bot.cases()
        assert case.permalink  # a pager links to the real thread
        assert json.loads(second.body) == {
            "type": "page",
            "case": "CASE-1",
            "team_id": bot.slack.team_id,
            "channel_id": SUPPORT,
            "permalink": case.permalink,
            "requester_id": CUSTOMER,
            "policy": "paging",
            "severity": "sev1",
            "severity_name": "SEV 1",
            "summary": "it broke",
            "page": 1,
            "step": 0,
            "round": 1,
            "level": 1,
            "users": [PRIMARY],
            "groups": [],
        }

        # Past level 2 (03:10, no webhook there) up to the minute before round 2: no repeat.
        forward(bot, 24)
        assert len(receiver.requests) == 2
        assert [p[:2] for p in pages(bot)[2:]] == [("03:10", LEAD), ("03:10", ONCALL)]

        # Round 2 pages level 1 again: a new delivery, answered at once.
        forward(bot, 1)
        [*_, third] = receiver.requests
        assert len(receiver.requests) == 3
        assert (third.valid, third.status) == (True, 200)
        assert third.header(webhooks.DELIVERY) == str(webhook_rows(bot)[-1][0])
        assert third.header(webhooks.DELIVERY) != str(row_id)
        body = json.loads(third.body)
        assert (body["round"], body["level"], body["step"]) == (2, 1, 2)
    assert not [line for line in COLLECTOR.lines if SECRET in line]


def test_a_receiver_with_another_secret_refuses_and_the_page_is_not_retried(
    sqlite_url: str, tmp_path: Path
) -> None:
    for other in serve_receiver(OTHER_SECRET):
        for bot in webhook_bot(sqlite_url, tmp_path, other.url, SECRET):
            open_case(bot)
            [refused] = other.requests
            assert (refused.valid, refused.status) == (False, 401)
            # The bot's signature is the one SECRET gives; OTHER_SECRET's differs.
            stamp = refused.header(webhooks.TIMESTAMP)
            signature = refused.header(webhooks.SIGNATURE)
            assert Receiver(SECRET).check(refused.headers, refused.body)
            base = b"v1:" + stamp.encode() + b":" + refused.body
            theirs = "v1=" + hmac.new(OTHER_SECRET.encode(), base, hashlib.sha256).hexdigest()
            assert theirs != signature
            # A 4xx is the receiver's final word: no retry, the row fails and stays visible.
            [(_, *state)] = webhook_rows(bot)
            assert state[:2] == ["failed", 1]
            forward(bot, 5)
            assert len(other.requests) == 1


def test_an_altered_body_fails_the_check(receiver: Receiver) -> None:
    payload = {"type": "page", "case": "CASE-7", "severity": "sev1"}
    with pytest.raises(HttpStatusError) as first:
        webhooks.post(receiver.url, payload, SECRET, "42")
    assert first.value.status == 500
    assert webhooks.post(receiver.url, payload, SECRET, "42") == 200
    [sent, _] = receiver.requests
    assert sent.valid
    assert sent.body == b'{"case":"CASE-7","severity":"sev1","type":"page"}'
    stamp, signature = sent.header(webhooks.TIMESTAMP), sent.header(webhooks.SIGNATURE)
    assert webhooks.verify(SECRET, stamp, sent.body, signature)

    altered = sent.body.replace(b"sev1", b"sev3")
    assert not Receiver(SECRET).check(sent.headers, altered)
    assert not webhooks.verify(SECRET, stamp, altered, signature)
    assert not webhooks.verify(OTHER_SECRET, stamp, sent.body, signature)
    # Sent as is with the original headers, the receiver refuses it.
    headers = {k: v for k, v in sent.headers.items() if k.lower() not in ("host", "content-length")}
    request = urllib.request.Request(receiver.url, data=altered, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401
    assert (receiver.requests[-1].valid, receiver.requests[-1].status) == (False, 401)


def test_a_pager_that_is_down_does_not_hold_back_the_slack_pages(
    sqlite_url: str, tmp_path: Path
) -> None:
    for down in serve_receiver(SECRET, down=True):
        for bot in webhook_bot(sqlite_url, tmp_path, down.url, SECRET):
            open_case(bot)
            forward(bot, 12)
            # Retried with backoff all along, yet level 2 went out on time at 03:10.
            assert len(down.requests) > 3
            assert {r.status for r in down.requests} == {500}
            assert [p[:2] for p in pages(bot)] == [
                ("03:00", PRIMARY),
                ("03:00", ONCALL),
                ("03:10", LEAD),
                ("03:10", ONCALL),
            ]


def test_webhooks_to_different_pagers_are_paced_apart_not_behind_each_other(
    db_url: str, tmp_path: Path
) -> None:
    """Pacing is per destination, as Slack's is per channel: one pager's page does not wait
    for another's."""
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(contextlib.contextmanager(serve_receiver)(SECRET))
        second = stack.enter_context(contextlib.contextmanager(serve_receiver)(SECRET))
        hooks = f'", {local_hook(first.url)}, {local_hook(second.url)}]'
        policy = POLICY.replace(LEVEL_1, LEVEL_1.replace('"]', hooks))
        assert policy != POLICY
        bots = paging_bot_for(db_url, tmp_path, policy, page_webhook_secret=SECRET)
        bot = next(bots)
        try:
            bot.runtime.deliverer.pacer.enabled = True  # Slack's pace, on a stopped clock
            open_case(bot)
            assert (len(first.requests), len(second.requests)) == (1, 1)
        finally:
            bots.close()


def test_an_http_webhook_needs_insecure_but_a_case_opened_before_keeps_paging_it() -> None:
    url = "http://127.0.0.1:8080/page"
    marked = yaml.safe_load(
        POLICY.replace(LEVEL_1, LEVEL_1.replace('"]', f'", {local_hook(url)}]'))
    )
    policy = Policy.model_validate(marked)
    [_, hook] = policy.content["oncall"]["escalations"]["urgent"]["levels"][0]["notify"]
    assert hook == {"webhook": url, "insecure": True}  # stored as written
    assert Policy.from_snapshot(policy.content, policy.content_hash) == policy

    # The same target before `insecure` existed: refused in a policy file...
    earlier = json.loads(json.dumps(policy.content))
    earlier["oncall"]["escalations"]["urgent"]["levels"][0]["notify"][1] = f"webhook:{url}"
    with pytest.raises(PolicyProblems) as refused:
        Policy.model_validate(earlier)
    assert refused.value.problems == [
        (
            ("oncall", "escalations", "urgent", "levels", 0, "notify", 1),
            f"'webhook:{url}' is plain http: write an https URL, or "
            f"{{webhook: {url}, insecure: true}} for a pager on your own network",
        )
    ]
    # ...but the snapshot of a case opened then still loads, with its hash, and pages it.
    canonical = json.dumps(earlier, sort_keys=True, separators=(",", ":"))
    kept = Policy.from_snapshot(earlier, hashlib.sha256(canonical.encode()).hexdigest())
    assert kept.oncall is not None
    assert kept.oncall.escalations["urgent"].levels[0].notify[1] == f"webhook:{url}"
