"""An inbox row is worked by one worker at a time: it is claimed (a lease) before its Slack
reads, and what it counts is counted once, after its transaction commits."""

from __future__ import annotations

import threading
from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import select

from bot import inbox
from bot.clock import FakeClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import InboxEvent
from bot.inbox import InboundRequest, Row


def test_two_workers_never_work_the_same_row_at_once(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FakeClock()
    inbox.store_many(engine, clock, [InboundRequest("probe", "T1", "probe:1", {})]) if (
        engine.dialect.name == "sqlite"
    ) else _store_pg(engine, clock)
    [row_id] = inbox.pending_ids(sessions, clock.now())
    reads: list[int] = []
    inside, release = threading.Event(), threading.Event()

    def handler(row: Row) -> None:
        reads.append(row.id)  # stands for the Slack reads a row costs
        inside.set()
        release.wait(5)

    handlers = {"probe": handler}
    first = threading.Thread(target=inbox.process_one, args=(sessions, clock, handlers, row_id))
    first.start()
    assert inside.wait(5)
    # A second worker reaches the same row while the first is still reading Slack.
    assert inbox.process_one(sessions, clock, handlers, row_id) == "skipped"
    release.set()
    first.join(5)
    assert reads == [row_id]
    with sessions() as session:
        assert session.execute(select(InboxEvent.status)).scalar_one() == "done"
    # A worker that died holding the row leaves it to others once its lease runs out.
    engine.dispose()


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_its_lease(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FakeClock()
    inbox.store_many(engine, clock, [InboundRequest("probe", "T1", "probe:2", {})])
    [row_id] = inbox.pending_ids(sessions, clock.now())
    assert inbox.claim(sessions, clock, row_id)
    assert inbox.pending_ids(sessions, clock.now()) == []
    clock.advance(inbox.LEASE - timedelta(seconds=1))
    assert inbox.pending_ids(sessions, clock.now()) == []
    clock.advance(timedelta(seconds=1))
    assert inbox.pending_ids(sessions, clock.now()) == [row_id]
    engine.dispose()


def test_what_effects_count_is_counted_once_after_commit(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FakeClock()
    inbox.store_many(engine, clock, [InboundRequest("probe", "T1", "probe:3", {})])
    [row_id] = inbox.pending_ids(sessions, clock.now())
    counted: list[str] = []

    def handler(row: Row) -> inbox.Effects:
        def effects(session: object) -> None:
            inbox.after_commit(session, lambda: counted.append("opened"))  # type: ignore[arg-type]
            raise RuntimeError("the transaction fails after the count was asked for")

        return effects

    inbox.process_one(sessions, clock, {"probe": handler}, row_id)
    assert counted == []
    before = REGISTRY.get_sample_value("escbot_inbox_processed_total", {"kind": "probe"}) or 0.0

    def good(row: Row) -> inbox.Effects:
        def effects(session: object) -> None:
            inbox.after_commit(session, lambda: counted.append("opened"))  # type: ignore[arg-type]

        return effects

    with sessions.begin() as session:
        found = session.get(InboxEvent, row_id)
        assert found is not None
        found.status, found.next_attempt_at = "pending", clock.now()
    assert inbox.process_one(sessions, clock, {"probe": good}, row_id) == "done"
    assert counted == ["opened"]
    after = REGISTRY.get_sample_value("escbot_inbox_processed_total", {"kind": "probe"})
    assert after == before + 1
    engine.dispose()


def _store_pg(engine: object, clock: FakeClock) -> None:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            InboxEvent.__table__.insert().values(  # type: ignore[attr-defined]
                dedupe_key="probe:1", kind="probe", team_id="T1", payload={},
                received_at=clock.now(), status="pending", attempts=0,
                next_attempt_at=clock.now(),
            )
        )  # fmt: skip
