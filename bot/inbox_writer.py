"""Group commit for the ack path. Requests arriving together are written by one thread in
one transaction, and each request is acked only once that transaction has committed. The
guarantee is the same as one insert per request (stored before acked); the cost of a
transaction, and on PostgreSQL of a round trip, is shared by the whole batch."""

from __future__ import annotations

import logging
import queue
import threading

from sqlalchemy import Engine

from bot import inbox
from bot.clock import Clock

log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("done", "error", "req")

    def __init__(self, req: inbox.InboundRequest) -> None:
        self.req = req
        self.done = threading.Event()
        self.error: BaseException | None = None


class InboxWriter:
    def __init__(
        self, engine: Engine, clock: Clock, max_batch: int = 200, timeout: float = 10.0
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_batch = max_batch
        self.timeout = timeout
        self._queue: queue.SimpleQueue[_Waiter] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def store(self, req: inbox.InboundRequest) -> None:
        """Return once `req` is committed; raise if it could not be (Slack then retries)."""
        self._ensure_thread()
        waiter = _Waiter(req)
        self._queue.put(waiter)
        if not waiter.done.wait(self.timeout):
            raise TimeoutError("the inbox did not commit the request in time")
        if waiter.error is not None:
            raise waiter.error

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Waiter]) -> None:
        try:
            inbox.store_many(self.engine, self.clock, [w.req for w in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                # One bad row must not fail its neighbours: write each on its own.
                log.warning("inbox batch of %s failed (%s); writing one by one", len(batch), exc)
                for waiter in batch:
                    self._write([waiter])
                return
        for waiter in batch:
            waiter.done.set()
