"""A handoff tells the incoming person about the open cases of one workspace at a time,
each workspace's with its own token: never another workspace's case keys and channels."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from bot.db.models import OutboxMessage
from tests.conftest import Bot
from tests.support.cases import open_case

OTHER = "T0OTHERWS1"
# The shipped schedule hands over on Mondays at 09:00 UTC; the bot's clock starts on one.
NEXT_HANDOFF = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def test_each_workspace_gets_a_handoff_of_its_own_cases(bot: Bot) -> None:
    open_case(bot)
    with bot.runtime.engine.begin() as conn:
        # Another workspace's open case under the same policy.
        conn.execute(
            text(
                "INSERT INTO cases (team_id, number, channel_id, message_ts, thread_ts,"
                " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                " opened_at, updated_at, shared)"
                " SELECT :team, 1, 'C0OTHERCH1', '2.2', '2.2', requester_id, opened_by, text,"
                " status, severity, policy_id, policy_hash, opened_at, updated_at, shared"
                " FROM cases"
            ),
            {"team": OTHER},
        )
    bot.clock.set(NEXT_HANDOFF)
    bot.settle()
    with bot.runtime.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.team_id, OutboxMessage.channel_id, OutboxMessage.data)
            .where(OutboxMessage.intent == "handoff_dm")
            .where(OutboxMessage.channel_id == "U00000000E2")  # the engineering schedule's
            .order_by(OutboxMessage.team_id)
        ).all()
    assert [
        (team, channel, [(c["case"], c["channel"]) for c in data["cases"]])
        for team, channel, data in rows
    ] == [
        (bot.slack.team_id, "U00000000E2", [("CASE-1", "C0SUPPORT1")]),
        (OTHER, "U00000000E2", [("CASE-1", "C0OTHERCH1")]),
    ]
