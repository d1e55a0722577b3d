"""The App Home's lists pick the cases that matter, not the first rows the database finds:
the soonest due of all a viewer's cases, not of an arbitrary twenty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.cases import queries
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                " VALUES ('h1', 'p', '{}', :t)"
            ),
            {"t": T0},
        )
        # 30 cases assigned to U1, opened in order; the later a case was opened, the sooner
        # its first response is due.
        for n in range(1, 31):
            conn.execute(
                text(
                    "INSERT INTO cases (team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, updated_at, assignee_id, first_response_due, shared) VALUES"
                    " ('T1', :n, 'C1', :ts, :ts, 'U9', 'U2', 'x', 'open', 'sev3', 'p', 'h1',"
                    " :opened, :opened, 'U1', :due, :no)"
                ),
                {
                    "n": n,
                    "ts": f"1772445600.{n:06d}",
                    "opened": T0 + timedelta(minutes=n),
                    "due": T0 + timedelta(hours=10) - timedelta(minutes=10 * n),
                    "no": False,
                },
            )
    try:
        with make_sessionmaker(engine)() as s:
            yield s
    finally:
        engine.dispose()


def test_assigned_shows_the_twenty_soonest_due_of_all(session: Session) -> None:
    found = queries.assigned_to(session, "T1", "U1")
    assert [c.number for c in found] == list(range(30, 10, -1))


def test_at_risk_shows_the_soonest_due_of_all(session: Session) -> None:
    found = queries.at_risk(session, "T1", T0, limit=5)
    assert [c.number for c in found] == [30, 29, 28, 27, 26]
