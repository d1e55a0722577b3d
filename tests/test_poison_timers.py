"""One bad timer never stops the others, nor delivery: a timer whose handler fails for a
reason that would recur is parked after its first attempt, with the reason in its row, one
log line and a metric; every other timer fires and every message goes out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from bot.db.models import Timer
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads

# The default policy opens cases at SEV3, first response due 15:00, reminder at 14:00.
REMINDER = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def open_case(bot: Bot, text_: str) -> str:
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, text_)
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return ts


def parked_total() -> float:
    return REGISTRY.get_sample_value("escbot_timers_parked_total", {"kind": "reminder"}) or 0.0


def test_a_timer_that_cannot_fire_is_parked_and_the_others_fire(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bad = open_case(bot, "this one's severity is gone")
    good = open_case(bot, "this one is fine")
    with bot.runtime.engine.begin() as conn:
        # A policy snapshot that no longer validates: firing its timers fails every time.
        conn.execute(
            text(
                "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                " SELECT 'broken', policy_id, :content, first_seen_at FROM policy_snapshots"
            ),
            {"content": '{"id": "broken"}'},
        )
        conn.execute(
            text("UPDATE cases SET policy_hash = 'broken' WHERE message_ts = :ts"), {"ts": bad}
        )
    before = parked_total()
    bot.clock.set(REMINDER)
    with caplog.at_level(logging.WARNING):
        bot.settle()
    replies = [
        m.thread_ts for m in bot.slack.posted_messages(SUPPORT) if m.text.startswith(":hourglass")
    ]
    assert replies == [good]
    with bot.runtime.sessions() as session:
        rows = session.execute(
            select(Timer.kind, Timer.status, Timer.note, Timer.id)
            .where(Timer.kind == "reminder")
            .order_by(Timer.id)
        ).all()
    assert [(kind, status) for kind, status, _, _ in rows] == [
        ("reminder", "parked"),
        ("reminder", "fired"),
    ]
    assert rows[0][2] == "ValidationError: 2 validation errors for Policy"
    assert parked_total() == before + 1
    lines = [r for r in caplog.records if "parked" in r.getMessage()]
    assert [r.getMessage() for r in lines] == [
        f"timer {rows[0][3]} (reminder of CASE-1) parked: "
        "ValidationError: 2 validation errors for Policy"
    ]


def test_delivery_goes_on_when_the_timer_pass_fails(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.runtime.passes as runtime_module

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("lost the database mid-pass")

    monkeypatch.setattr(runtime_module, "fire_due", broken)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "the card still goes out")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    result = bot.runtime.run_once()
    assert (result["processed"], result["fired"]) == (1, 0)
    assert [m.thread_ts for m in bot.slack.posted_messages(SUPPORT)] == [ts]
