"""Delivery to Slack: per-case order, one channel's rate limit holding up only that channel,
exactly once after a sender died between Slack accepting a post and the outbox recording
it, and every message once and in order through a storm of 429s and 500s."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.db.models import OutboxMessage
from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, TRIAGE, Bot
from tests.support import payloads
from tests.support.cases import react

OTHER = "C0OTHERCH1"


def card_and_notices(bot: Bot, root: str, channel: str = SUPPORT) -> list[str]:
    """What the bot posted in a case's thread, in order: "card" or the text."""
    return [
        "card" if m.blocks else m.text
        for m in bot.slack.posted_messages(channel)
        if m.thread_ts == root
    ]


def press(bot: Bot, case_id: int, severity: str, ts: str, channel: str = SUPPORT) -> None:
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=f"{SET_SEVERITY_ACTION}:{severity}",
            value=f"{case_id}:{severity}",
            user=ENGINEER,
            channel=channel,
            message_ts=ts,
            team=bot.slack.team_id,
        )
    )
    assert resp.status == 200


def settle_for(bot: Bot, seconds: int, step: int = 5) -> None:
    for _ in range(seconds // step):
        bot.settle()
        bot.clock.advance(timedelta(seconds=step))
    bot.settle()


def outbox_left(bot: Bot) -> list[tuple[int, str]]:
    with bot.runtime.sessions() as session:
        return [
            tuple(r)  # type: ignore[misc]
            for r in session.execute(
                select(OutboxMessage.id, OutboxMessage.status).where(
                    OutboxMessage.status.in_(("pending", "sending"))
                )
            )
        ]


def test_a_deferred_card_is_not_overtaken_by_the_severity_notice(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", status=500, times=1)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "deferred card")
    react(bot, ts)
    bot.settle()
    [case] = bot.cases()
    assert card_and_notices(bot, ts) == []
    press(bot, case.id, "sev2", ts)
    bot.settle()
    # The card is deferred (backoff 2 s); the notice written after it waits too.
    assert card_and_notices(bot, ts) == []
    settle_for(bot, 10)
    posted = card_and_notices(bot, ts)
    assert posted[0] == "card"
    assert posted[1].startswith(
        f"<@{ENGINEER}> set severity to *SEV 2 - High* (was SEV 3 - Medium). First response due"
    )
    assert len(posted) == 2


def test_one_channels_rate_limit_does_not_hold_up_another(bot: Bot) -> None:
    bot.slack.add_channel(OTHER, "other", bot_member=True)
    first = bot.slack.post_user_message(SUPPORT, CUSTOMER, "first")
    second = bot.slack.post_user_message(OTHER, CUSTOMER, "second")
    bot.slack.fail("chat.postMessage", status=429, retry_after=30, times=1)
    react(bot, first)
    react(bot, second, channel=OTHER)
    bot.settle()  # one moment: the 429 does not make anyone wait in the pass
    assert card_and_notices(bot, first) == []
    assert card_and_notices(bot, second, OTHER) == ["card"]
    bot.clock.advance(timedelta(seconds=29))
    bot.settle()
    assert card_and_notices(bot, first) == []  # Slack asked for 30 s
    bot.clock.advance(timedelta(seconds=1))
    bot.settle()
    assert card_and_notices(bot, first) == ["card"]
    [limited] = [c for c in bot.slack.calls("chat.postMessage") if c.status == 429]
    assert limited.params["channel"] == SUPPORT


def test_a_post_slack_accepted_before_its_sender_died_is_not_posted_again(bot: Bot) -> None:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "accepted, then killed")
    react(bot, ts)
    bot.settle()
    [card] = [m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts]
    # The state a sender killed right after Slack's answer leaves: claimed, never finished.
    with bot.runtime.sessions.begin() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.intent == "case_card")
        ).scalar_one()
        row_id = row.id
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                status="sending",
                sent_at=None,
                result=None,
                attempts=0,
                next_attempt_at=bot.clock.now() + timedelta(seconds=15),
            )
        )
    bot.clock.advance(timedelta(seconds=14))
    bot.settle()
    assert bot.slack.calls("conversations.replies") == []  # still leased
    bot.clock.advance(timedelta(seconds=1))
    bot.settle()
    assert [m.ts for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == ts] == [card.ts]
    with bot.runtime.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        assert (row.status, row.result) == ("sent", {"ts": card.ts, "channel": SUPPORT})


def test_through_429s_and_500s_every_message_once_and_in_order_per_case(bot: Bot) -> None:
    roots = [bot.slack.post_user_message(SUPPORT, CUSTOMER, f"storm {i}") for i in range(12)]
    for root in roots:
        react(bot, root)
    bot.settle()  # opened before the storm, so the reads succeed
    bot.slack.fail_randomly("chat.postMessage", {429: 0.3, 500: 0.1}, seed=7)
    cases = {c.message_ts: c for c in bot.cases()}
    for root in roots:
        # A level that pages nobody: this test is about the case's own thread.
        press(bot, cases[root].id, "sev4", root)
    settle_for(bot, 600)
    bot.slack.stop_failing_randomly("chat.postMessage")
    assert outbox_left(bot) == []
    statuses = [c.status for c in bot.slack.calls("chat.postMessage")]
    assert statuses.count(429) > 10 and statuses.count(500) > 3
    for root in roots:
        posted = card_and_notices(bot, root)
        assert len(posted) == 2, posted
        assert posted[0] == "card"
        assert posted[1].startswith(
            f"<@{ENGINEER}> set severity to *SEV 4 - Low* (was SEV 3 - Medium). First response due"
        )
    ids = [
        (m.metadata or {}).get("event_payload", {}).get("outbox_id")
        for m in bot.slack.posted_messages()
    ]
    assert len(ids) == len(set(ids))
    # The twelve cases opened together are announced to triage in one message, once each.
    [triage] = bot.slack.posted_messages(TRIAGE)
    heading, *lines = triage.text.splitlines()
    assert heading == "*12 new cases*"
    assert lines == [
        f":ticket: <{c.permalink}|{c.key}> opened in <#{SUPPORT}> by <@{ENGINEER}>"
        for c in sorted(cases.values(), key=lambda c: c.number)
    ]
