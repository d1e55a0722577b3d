"""An inbox row is worked by one worker at a time: it is claimed (a lease) before its Slack
reads, and what it counts is counted once, after its transaction commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import inbox
from bot.clock import FakeClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import InboxEvent
from bot.inbox import InboundRequest, Row


@dataclass(frozen=True)
class Probe:
    sessions: sessionmaker[Session]
    clock: FakeClock
    row_id: int


@pytest.fixture
def probe(sqlite_url: str) -> Iterator[Probe]:
    """An inbox on SQLite holding one pending row of kind "probe"."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FakeClock()
    inbox.store_many(engine, clock, [InboundRequest("probe", "T1", "probe:1", {})])
    [row_id] = inbox.pending_ids(sessions, clock.now())
    yield Probe(sessions, clock, row_id)
    engine.dispose()


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


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_its_lease(probe: Probe) -> None:
    sessions, clock, row_id = probe.sessions, probe.clock, probe.row_id
    assert inbox.claim(sessions, clock, row_id)
    assert inbox.pending_ids(sessions, clock.now()) == []
    clock.advance(inbox.LEASE - timedelta(seconds=1))
    assert inbox.pending_ids(sessions, clock.now()) == []
    clock.advance(timedelta(seconds=1))
    assert inbox.pending_ids(sessions, clock.now()) == [row_id]


def test_what_effects_count_is_counted_once_after_commit(probe: Probe) -> None:
    sessions, clock, row_id = probe.sessions, probe.clock, probe.row_id
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


def _store_pg(engine: object, clock: FakeClock) -> None:
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            InboxEvent.__table__.insert().values(  # type: ignore[attr-defined]
                dedupe_key="probe:1", kind="probe", team_id="T1", payload={},
                received_at=clock.now(), status="pending", attempts=0,
                next_attempt_at=clock.now(),
            )
        )  # fmt: skip


class _Away:
    """Sessions whose database goes away while `down` is set: every new transaction fails
    as a dropped connection does."""

    def __init__(self, real: sessionmaker[Session]) -> None:
        self.real = real
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise OperationalError(
                "SELECT 1", None, ConnectionError("server closed the connection")
            )

    def __call__(self) -> Session:
        self._check()
        return self.real()

    def begin(self) -> AbstractContextManager[Session]:
        self._check()
        return self.real.begin()


def test_a_row_the_database_went_away_on_is_tried_again_as_soon_as_it_is_back(
    probe: Probe,
) -> None:
    """The database goes away while a row's Slack reads run: not even its failure can be
    written, and its claim would hold it for the whole lease. The worker gives the lease back
    itself when the database answers again, so the row is worked at once."""
    real, clock, row_id = probe.sessions, probe.clock, probe.row_id
    away = _Away(real)
    sessions = cast(sessionmaker[Session], away)
    leases = inbox.Leases()

    def goes_away(row: Row) -> None:
        away.down = True

    with pytest.raises(OperationalError):
        inbox.drain(sessions, clock, {"probe": goes_away}, leases=leases)
    away.down = False
    assert inbox.pending_ids(real, clock.now()) == []  # held by the lost claim
    worked: list[int] = []
    handled = inbox.drain(
        sessions, clock, {"probe": lambda row: worked.append(row.id)}, leases=leases
    )
    assert (handled, worked) == (1, [row_id])
    with real() as session:
        assert session.execute(select(InboxEvent.status)).scalar_one() == "done"


def test_a_lease_taken_over_by_another_worker_is_not_given_back(probe: Probe) -> None:
    sessions, clock, row_id = probe.sessions, probe.clock, probe.row_id
    ours = inbox.claim(sessions, clock, row_id)
    assert ours == clock.now() + inbox.LEASE
    leases = inbox.Leases()
    leases.keep(row_id, ours)
    clock.advance(inbox.LEASE)
    theirs = inbox.claim(sessions, clock, row_id)  # our lease ran out; another worker took it
    assert theirs == clock.now() + inbox.LEASE
    assert leases.give_back(sessions, clock.now()) == 0
    with sessions() as session:
        assert session.execute(select(InboxEvent.next_attempt_at)).scalar_one() == theirs
