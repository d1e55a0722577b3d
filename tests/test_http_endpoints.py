"""Health, readiness and metrics, and what an operator sees of a delivery that failed."""

from __future__ import annotations

import urllib.request

from sqlalchemy import select

from bot.db.models import OutboxMessage
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_health_and_readiness(bot: Bot) -> None:
    assert get(bot.url + "/healthz") == (200, "ok")
    status, body = get(bot.url + "/readyz")
    assert status == 200 and '"ready":true' in body


def test_a_failed_delivery_stays_visible_in_the_outbox_and_the_metrics(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", error="is_archived", times=5)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "help")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    with bot.runtime.sessions() as session:
        failed = (
            session.execute(select(OutboxMessage).where(OutboxMessage.status == "failed"))
            .scalars()
            .all()
        )
    assert {(m.intent, m.last_error) for m in failed} >= {("case_card", "is_archived")}
    status, text = get(bot.url + "/metrics")
    assert status == 200
    assert 'escbot_backlog_rows{status="failed",table="outbox"}' in text
    assert "escbot_ack_seconds_count" in text
    assert 'escbot_inbox_received_total{kind="reaction_added",result="new"}' in text
