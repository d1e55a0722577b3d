"""A page goes out while `cases` is locked (a migration's ALTER, VACUUM FULL): its step fires
from what the page keeps of its case, writes no row that checks a key into `cases`, and its
direct message and channel post render from what the step wrote on them. On PostgreSQL,
where a table lock stops every read of the table; SQLite has no such lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.db.engine import make_engine
from bot.db.models import CaseEvent, OutboxMessage, Timer
from bot.db.states import CaseEventKind
from tests.conftest import Bot
from tests.support.cases import open_case
from tests.support.db import database
from tests.support.paging import (
    LEAD,
    LEADS,
    ONCALL,
    PRIMARY,
    dm_line,
    page_line,
    pages,
    paging_bot_for,
)

pytestmark = pytest.mark.postgres

LEVEL1 = "level 1 of the escalation chain, round 1"
LEVEL2 = "level 2 of the escalation chain, round 1"
# A guard against a hang, not a measure: a lane waiting on the lock would wait for ever.
DEADLOCK_GUARD_SECONDS = 60


@pytest.fixture
def pg_paging_bot(tmp_path: Path) -> Iterator[tuple[Bot, str]]:
    with database("postgres", tmp_path) as url:
        for bot in paging_bot_for(url, tmp_path):
            yield bot, url


def test_a_page_step_fires_and_its_messages_go_out_while_cases_is_locked(
    pg_paging_bot: tuple[Bot, str],
) -> None:
    bot, url = pg_paging_bot
    open_case(bot)
    assert [p[:2] for p in pages(bot)] == [("03:00", PRIMARY), ("03:00", ONCALL)]
    expected = [
        ("03:10", LEAD, dm_line(bot, LEVEL2)),
        ("03:10", ONCALL, page_line(bot, f"<@{LEAD}> <!subteam^{LEADS}> paged", LEVEL2)),
    ]
    bot.clock.advance(timedelta(minutes=10))
    locker = make_engine(url)
    conn = locker.connect()
    held = conn.begin()
    lane = bot.runtime.passes.page_lane
    done: list[int] = []
    try:
        conn.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
        worker = threading.Thread(target=lambda: done.append(lane.run_once()), daemon=True)
        worker.start()
        worker.join(timeout=DEADLOCK_GUARD_SECONDS)
        # Still locked here: the lane's pass ended without `cases`.
        assert not worker.is_alive()
        assert done == [3]  # the step fired, and its direct message and post went out
        assert pages(bot)[2:] == expected
    finally:
        held.rollback()
        conn.close()
        locker.dispose()
    bot.settle()
    # Nothing went twice once `cases` was free, and the step is on the case's timeline.
    assert [p[:2] for p in pages(bot)] == [
        ("03:00", PRIMARY),
        ("03:00", ONCALL),
        ("03:10", LEAD),
        ("03:10", ONCALL),
    ]
    with bot.runtime.sessions() as session:
        paged = session.execute(
            select(CaseEvent.data).where(CaseEvent.kind == CaseEventKind.PAGED)
        ).scalars()
        assert [(d["step"], d["users"]) for d in paged] == [(0, [PRIMARY]), (1, [LEAD])]
        steps = session.execute(
            select(Timer.target, Timer.status).where(Timer.kind == "page_step").order_by(Timer.id)
        ).all()
        assert [s for _, s in steps] == ["fired", "fired", "pending"]
        about = session.execute(
            select(OutboxMessage.data["about"]).where(OutboxMessage.channel_id == LEAD)
        ).scalar_one()
    [case] = bot.cases()
    assert about == {
        "number": case.number,
        "team": case.team_id,
        "channel": case.channel_id,
        "policy": case.policy_id,
        "permalink": case.permalink,
        "requester": case.requester_id,
    }


def test_with_cases_free_a_step_still_asks_the_case(pg_paging_bot: tuple[Bot, str]) -> None:
    """The page's own facts are the way round a lock, not a second truth: with `cases`
    free, a step reads the case, and a page whose case no longer wants its chain stops."""
    bot, _ = pg_paging_bot
    open_case(bot)
    with bot.runtime.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET severity = 'sev3'"))
    bot.clock.advance(timedelta(minutes=10))
    assert bot.runtime.passes.page_lane.run_once() == 0
    assert [p[:2] for p in pages(bot)] == [("03:00", PRIMARY), ("03:00", ONCALL)]
    with bot.runtime.sessions() as session:
        notes = session.execute(
            select(Timer.status, Timer.note).where(Timer.kind == "page_step").order_by(Timer.id)
        ).all()
    assert [tuple(n) for n in notes] == [
        ("fired", None),
        ("dropped", "paging stopped: the severity was lowered"),
    ]
