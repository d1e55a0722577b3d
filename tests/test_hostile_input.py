"""The door against hostile and clumsy input, through the real endpoint: every request gets a
definite answer (401, 413, 400 or 200; never a 5xx for input), at most one short log line,
no request body in the log, and the bot keeps working afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.db.models import Case, InboxEvent
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.bot_messages import is_card
from tests.support.hostile_requests import (
    CASES,
    JSON,
    Probe,
    bad_secret,
    body_of,
    reaction,
    signed,
    signed_at,
)
from tests.support.log_lines import Lines, logged_lines
from tests.support.logscan import BODY_MARKER

# A short log line: a sentence naming the problem, nothing quoted from the request.
MAX_LINE = 200


@pytest.fixture
def lines() -> Iterator[Lines]:
    # The token's workspace, learned in the background, is not a line about a request.
    with logged_lines(ignore=("bot.slack.identity",)) as handler:
        yield handler


def post(bot: Bot, case: Probe) -> int:
    headers = {"Content-Type": case.content_type, **case.headers(case.body)}
    return bot.driver.raw(case.body, headers).status


def test_every_hostile_input_gets_a_definite_answer_and_one_short_line(
    bot: Bot, lines: Lines
) -> None:
    got: dict[str, tuple[int, list[str]]] = {}
    for case in CASES:
        before = len(lines.lines)
        status = post(bot, case)
        bot.settle()
        got[case.name] = (status, lines.lines[before:])
    wrong = {n: s for n, (s, _) in got.items() if s != {c.name: c.status for c in CASES}[n]}
    assert wrong == {}
    chatty = {n: ls for n, (_, ls) in got.items() if len(ls) > 1}
    assert chatty == {}
    long_or_traced = [
        line for _, ls in got.values() for line in ls if len(line) > MAX_LINE or "\n" in line
    ]
    assert long_or_traced == []
    assert not any(BODY_MARKER in line for _, ls in got.values() for line in ls)
    # Nothing that was refused or dropped reached the inbox or opened a case; the one
    # well-formed reaction (with a 5,000-character event_id) was stored under a key that
    # fits its column, and its message does not exist, so no case opened.
    with bot.runtime.sessions() as session:
        [row] = session.execute(select(InboxEvent)).scalars()
        assert (row.status, len(row.dedupe_key)) == ("done", 116)
    assert bot.cases() == []

    # After the whole barrage a good reaction still opens a case and gets its card.
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "after the storm")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    [opened] = bot.cases()
    assert opened.message_ts == ts
    cards = [
        m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts and is_card(m.blocks)
    ]
    assert len(cards) == 1


def test_a_refused_request_logs_one_line_naming_the_problem(bot: Bot, lines: Lines) -> None:
    body = body_of(reaction())
    assert bot.driver.raw(body, {"Content-Type": JSON}).status == 401
    assert lines.lines == ["refused an unverified request: missing signature headers"]
    lines.lines.clear()
    assert bot.driver.raw(body, {"Content-Type": JSON, **signed_at("abc")(body)}).status == 401
    assert lines.lines == ["refused an unverified request: malformed timestamp header"]
    lines.lines.clear()
    assert bot.driver.raw(body, {"Content-Type": JSON, **bad_secret(body)}).status == 401
    assert lines.lines == ["refused an unverified request: signature mismatch"]
    lines.lines.clear()
    assert bot.driver.raw(b"[1]", {"Content-Type": JSON, **signed(b"[1]")}).status == 400
    assert lines.lines == [
        "refused a signed request whose body cannot be read: AttributeError: "
        "'list' object has no attribute 'get'"
    ]
    lines.lines.clear()
    assert (
        bot.driver.raw(body_of(None), {"Content-Type": JSON, **signed(body_of(None))}).status == 200
    )
    assert lines.lines == ["ignored a request from Slack: event is not an object with a type"]


def test_text_that_no_column_takes_is_stored_cleaned_not_refused(bot: Bot) -> None:
    """A NUL or a lone surrogate in a message's text (not in an id) is replaced, so the
    reaction still opens its case on both databases rather than failing the insert."""
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "broken")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    event["event"]["note"] = "nul\x00 and lone \ud800 surrogate"
    body = json.dumps(event).encode()
    assert bot.driver.raw(body, {"Content-Type": JSON, **signed(body)}).status == 200
    bot.settle()
    with bot.runtime.sessions() as session:
        [row] = session.execute(select(InboxEvent)).scalars()
        assert row.payload["event"]["note"] == "nul\ufffd and lone \ufffd surrogate"
        assert row.status == "done"
        assert session.execute(select(Case.message_ts)).scalar_one() == ts
