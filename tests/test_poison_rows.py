"""An inbox row that fails for a reason that will recur is parked after one attempt, counted,
and never holds up the rows behind it; a transient failure keeps its backoff."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import InboxEvent
from bot.inbox import InboundRequest, store_many
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.metrics import metrics


def poison(bot: Bot, case_id: str, key: str) -> None:
    """A row as an earlier release stored it, before the listener checked the case id."""
    req = InboundRequest(
        kind="set_severity",
        team_id=bot.slack.team_id,
        dedupe_key=key,
        payload={
            "case_id": case_id,
            "severity": "sev1",
            "user_id": ENGINEER,
            "channel_id": SUPPORT,
            "source": "action:1",
        },
    )
    if bot.runtime.engine.dialect.name == "sqlite":
        store_many(bot.runtime.engine, bot.clock, [req])
    else:
        bot.runtime.writer.store(req)


def test_a_poison_row_is_parked_once_counted_and_does_not_delay_the_next(bot: Bot, caplog) -> None:
    parked_before = metrics(bot).get('escbot_inbox_parked_total{kind="set_severity"}', 0.0)
    poison(bot, "²", "poison:superscript")
    poison(bot, "1" * 25, "poison:overflow")
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "the good one")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    caplog.clear()
    with caplog.at_level(logging.INFO):
        # One pass: both poison rows fail once, and the good event behind them is done.
        assert bot.runtime.run_once()["processed"] == 1
    [case] = bot.cases()
    assert case.message_ts == ts
    with bot.runtime.sessions() as session:
        rows = {
            r.dedupe_key: (r.status, r.attempts)
            for r in session.execute(select(InboxEvent)).scalars()
        }
    assert rows["poison:superscript"] == ("parked", 1)
    assert rows["poison:overflow"] == ("parked", 1)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.inbox"]
    assert len(lines) == 2 and all("\n" not in line and "parked:" in line for line in lines)
    assert lines[0].startswith("inbox row 1 (set_severity) parked: ValueError: ")

    # An hour later they are still parked, tried once, and nothing is logged about them.
    bot.clock.advance(timedelta(hours=1))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        bot.settle()
    assert [r for r in caplog.records if r.name == "bot.inbox"] == []
    with bot.runtime.sessions() as session:
        attempts = session.execute(
            select(InboxEvent.attempts).where(InboxEvent.status == "parked")
        ).scalars()
        assert list(attempts) == [1, 1]

    seen = metrics(bot)
    assert seen['escbot_backlog_rows{status="parked",table="inbox"}'] == 2.0
    assert seen['escbot_inbox_parked_total{kind="set_severity"}'] - parked_before == 2.0
