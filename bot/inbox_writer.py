"""Group commit for the ack path. Requests arriving together are written by one thread in
one transaction, and each request is acked only once that transaction has committed. The
guarantee is the same as one insert per request (stored before acked); the cost of a
transaction, and on PostgreSQL of a round trip, is shared by the whole batch.

A blocking caller waits with `store`. The HTTP endpoint instead `submit`s from Bolt's
listener and awaits the commit on the event loop (`wait_async`), so the thread that ran
the listener goes back to the pool at once and is not woken again for this request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from bot import inbox
from bot.clock import Clock
from bot.db.errors import is_transient_db

log = logging.getLogger(__name__)


class Pending:
    """One submitted request, settled once its batch has committed or failed. A blocking
    caller `wait`s; a caller on an event loop `attach`es a future, which the writer settles
    with one wake-up of that loop per batch."""

    __slots__ = ("_done", "_event", "_future", "_lock", "error", "req")

    def __init__(self, req: inbox.InboundRequest) -> None:
        self.req = req
        self.error: BaseException | None = None
        self._done = False
        self._lock = threading.Lock()
        self._event: threading.Event | None = None
        self._future: asyncio.Future[None] | None = None

    @property
    def done(self) -> bool:
        return self._done

    def wait(self, timeout: float) -> bool:
        with self._lock:
            if self._done:
                return True
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        return event.wait(timeout)

    def attach(self, future: asyncio.Future[None]) -> bool:
        """Have the writer settle `future`; False if this is already settled."""
        with self._lock:
            if self._done:
                return False
            self._future = future
            return True

    def _finish(self, error: BaseException | None) -> asyncio.Future[None] | None:
        with self._lock:
            self.error = error
            self._done = True
            event, future = self._event, self._future
        if event is not None:
            event.set()
        return future


class InboxWriter:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        max_batch: int = 200,
        timeout: float = 10.0,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_batch = max_batch
        self.timeout = timeout
        # Called after each committed batch (it wakes the background work).
        self.on_commit = on_commit
        # None asks the writer thread to finish what is queued before it and stop.
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        # On PostgreSQL the writer thread keeps one connection of the pool for itself.
        self._raw: Any = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, req: inbox.InboundRequest) -> Pending:
        """Queue `req` for the next batch; its `Pending` says when it is committed."""
        self._ensure_thread()
        pending = Pending(req)
        self._queue.put(pending)
        return pending

    def store(self, req: inbox.InboundRequest) -> None:
        """Return once `req` is committed; raise if it could not be (Slack then retries)."""
        pending = self.submit(req)
        if not pending.wait(self.timeout):
            raise TimeoutError("the inbox did not commit the request in time")
        if pending.error is not None:
            raise pending.error

    async def wait_async(self, pendings: Sequence[Pending]) -> None:
        """Await, on the event loop, the commit of every one of `pendings`; raise if one
        failed or the commit took longer than the timeout."""
        loop = asyncio.get_running_loop()
        futures = []
        for pending in pendings:
            future: asyncio.Future[None] = loop.create_future()
            if pending.attach(future):
                futures.append(future)
            elif pending.error is not None:
                raise pending.error
        try:
            async with asyncio.timeout(self.timeout):
                for future in futures:
                    await future
        except TimeoutError:
            raise TimeoutError("the inbox did not commit the request in time") from None

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, stop the writer thread and give back its connection."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[Pending] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = item is None
            if batch:
                self._write(batch)
        if self._raw is not None:
            raw, self._raw = self._raw, None
            with contextlib.suppress(Exception):
                raw.close()

    def _store(self, reqs: list[inbox.InboundRequest]) -> None:
        if self.engine.dialect.name == "sqlite":
            inbox.store_many(self.engine, self.clock, reqs)
            return
        try:
            self._store_pg(reqs)
        except Exception:
            if self._raw is not None:
                raise  # the connection is sound: the rows themselves failed
            # The connection had been cut (the database restarted, or an administrator
            # ended it): one more try on a fresh connection before anyone gets a 503.
            self._store_pg(reqs)

    def _store_pg(self, reqs: list[inbox.InboundRequest]) -> None:
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            self._raw.driver_connection.autocommit = True
        try:
            inbox.store_many_pg(self._raw.driver_connection, self.clock, reqs)
        except Exception:
            if self._raw.driver_connection.broken or self._raw.driver_connection.closed:
                # The database went away: the pool drops this connection, the next try
                # takes a fresh one.
                raw, self._raw = self._raw, None
                with contextlib.suppress(Exception):
                    raw.invalidate()
            raise

    def _write(self, batch: list[Pending]) -> bool:
        """Write `batch`; True if any of it committed."""
        try:
            self._store([p.req for p in batch])
        except Exception as exc:
            if len(batch) == 1 or is_transient_db(exc):
                # The database away fails every row alike: each request gets its 503 now
                # rather than after one connect timeout per row.
                _settle([(pending, exc) for pending in batch])
                return False
            # One bad row must not fail its neighbours: write each on its own.
            log.warning("inbox batch of %s failed (%s); writing one by one", len(batch), exc)
            return any([self._write([pending]) for pending in batch])
        # Wake the background work before the waiters: once a request is acked, the work
        # on it is already on its way.
        try:
            self.on_commit()
        except Exception:
            log.exception("waking the background work failed")
        _settle([(pending, None) for pending in batch])
        return True


Outcome = tuple[asyncio.Future[None], BaseException | None]


def _settle(results: list[tuple[Pending, BaseException | None]]) -> None:
    """Settle a batch: blocking waiters at once, futures with one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for pending, error in results:
        future = pending._finish(error)
        if future is not None:
            by_loop.setdefault(future.get_loop(), []).append((future, error))
    for loop, outcomes in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, outcomes)


def _resolve(outcomes: list[Outcome]) -> None:
    for future, error in outcomes:
        if future.done():
            continue  # its waiter gave up (timeout)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
