"""Group commit on the ack path: every caller returns only once its row is committed, a
retry is stored once, and one bad row does not fail the requests batched with it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.clock import FakeClock
from bot.db import migrate
from bot.db.engine import make_engine
from bot.db.models import InboxEvent
from bot.inbox import InboundRequest
from bot.inbox_writer import InboxWriter, Pending
from tests.support.db import database


def request(key: str, payload: object = None) -> InboundRequest:
    return InboundRequest("reaction_added", "T1", key, {"p": payload or key})  # type: ignore[dict-item]


def stored_keys(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(select(InboxEvent.dedupe_key)).scalars())


def test_concurrent_stores_commit_every_row_once(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    writer = InboxWriter(engine, FakeClock())
    keys = [f"event:T1:Ev{i % 150}" for i in range(300)]  # every event delivered twice
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: writer.store(request(k)), keys))
    assert sorted(stored_keys(engine)) == sorted(set(keys))
    engine.dispose()


def test_a_bad_row_fails_alone(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    writer = InboxWriter(engine, FakeClock())
    bad = request("event:T1:bad", payload={1, 2})  # a set is not JSON
    goods = [request(f"event:T1:good{i}") for i in range(20)]
    errors: list[BaseException] = []

    def store(req: InboundRequest) -> None:
        try:
            writer.store(req)
        except Exception as exc:
            errors.append(exc)

    with ThreadPoolExecutor(21) as pool:
        list(pool.map(store, [bad, *goods]))
    assert len(errors) == 1 and "not JSON serializable" in str(errors[0])
    assert sorted(stored_keys(engine)) == sorted(g.dedupe_key for g in goods)
    engine.dispose()


def test_a_database_that_is_gone_fails_every_caller(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    writer = InboxWriter(engine, FakeClock(), timeout=5)
    with pytest.raises(Exception, match="no such table"):
        writer.store(request("event:T1:x"))
    # The writer lives on: once the schema exists, the same request is stored.
    migrate.upgrade(engine)
    writer.store(request("event:T1:x"))
    assert stored_keys(engine) == ["event:T1:x"]
    engine.dispose()


def test_the_event_loop_awaits_the_commit_of_what_it_submitted(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    commits: list[int] = []
    writer = InboxWriter(engine, FakeClock(), on_commit=lambda: commits.append(1))
    good = [writer.submit(request(f"event:T1:a{i}")) for i in range(5)]
    bad = writer.submit(request("event:T1:bad", payload={1, 2}))

    async def main() -> BaseException | None:
        await writer.wait_async(good)
        try:
            await writer.wait_async([bad])
        except Exception as exc:
            return exc
        return None

    error = asyncio.run(main())
    assert all(p.done and p.error is None for p in good)
    assert error is not None and "not JSON serializable" in str(error)
    assert sorted(stored_keys(engine)) == sorted(f"event:T1:a{i}" for i in range(5))
    assert commits  # the background work was woken after the commit
    engine.dispose()


def test_awaiting_a_commit_that_never_comes_times_out(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    writer = InboxWriter(engine, FakeClock(), timeout=0.2)
    stuck = Pending(request("event:T1:never"))  # never queued, so never committed

    async def main() -> None:
        await writer.wait_async([stuck])

    with pytest.raises(TimeoutError, match="did not commit"):
        asyncio.run(main())
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_the_database_dropped_is_replaced_before_the_request_fails(
    tmp_path: Path,
) -> None:
    with database("postgres", tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        writer = InboxWriter(engine, FakeClock())
        writer.store(request("event:T1:before"))
        # The database drops the writer's connection (a restart, a failover, an idle kill).
        with engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND query LIKE 'INSERT INTO inbox_events%'"
                    " AND application_name = :mine"
                ),
                {"mine": url.rsplit("application_name=", 1)[1]},
            ).scalar_one()
        assert killed >= 1
        # Stored on a fresh connection at the second try: no 503 for a cut connection alone.
        writer.store(request("event:T1:next"))
        writer.store(request("event:T1:after"))
        assert sorted(stored_keys(engine)) == ["event:T1:after", "event:T1:before", "event:T1:next"]
        engine.dispose()


def test_a_batch_failing_because_the_database_is_away_is_not_retried_row_by_row(
    sqlite_url: str,
) -> None:
    """Row by row is for a bad row; with the database away each row would only add its own
    connect timeout to the outage."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    writer = InboxWriter(engine, FakeClock())
    attempts: list[int] = []

    def away(reqs: list[InboundRequest]) -> int:
        attempts.append(len(reqs))
        raise ConnectionError("the database is restarting")

    writer._store = away  # type: ignore[method-assign]
    batch = [Pending(request(f"event:T1:Ev{i}")) for i in range(5)]
    assert writer._write(batch) is False
    assert attempts == [5]
    assert all(isinstance(p.error, ConnectionError) for p in batch)
    engine.dispose()
