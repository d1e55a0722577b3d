"""Group commit for the ack path. Requests arriving together are written by one thread in
one transaction, and each request is acked only once that transaction has committed. The
guarantee is the same as one insert per request (stored before acked); the cost of a
transaction, and on PostgreSQL of a round trip, is shared by the whole batch.

A blocking caller waits with `store`. The HTTP endpoint instead `submit`s from Bolt's
listener and awaits the commit on the event loop (`wait_async`), so the thread that ran
the listener goes back to the pool at once and is not woken again for this request."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from bot import inbox
from bot.clock import Clock

log = logging.getLogger(__name__)


class Pending:
    """One submitted request: done once its batch has committed, or failed."""

    __slots__ = ("_callbacks", "_lock", "done", "error", "req")

    def __init__(self, req: inbox.InboundRequest) -> None:
        self.req = req
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[Pending], None]] = []

    def add_done_callback(self, fn: Callable[[Pending], None]) -> None:
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    def _finish(self, error: BaseException | None) -> None:
        with self._lock:
            self.error = error
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn(self)
            except Exception:  # e.g. the waiter's event loop has closed
                log.exception("an inbox commit callback failed")


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
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
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
        if not pending.done.wait(self.timeout):
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
            pending.add_done_callback(_resolver(loop, future))
            futures.append(future)
        try:
            await asyncio.wait_for(asyncio.gather(*futures), self.timeout)
        except TimeoutError:
            raise TimeoutError("the inbox did not commit the request in time") from None

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
            if self._write(batch):
                try:
                    self.on_commit()
                except Exception:
                    log.exception("waking the background work failed")

    def _write(self, batch: list[Pending]) -> bool:
        """Write `batch`; True if any of it committed."""
        try:
            inbox.store_many(self.engine, self.clock, [p.req for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0]._finish(exc)
                return False
            # One bad row must not fail its neighbours: write each on its own.
            log.warning("inbox batch of %s failed (%s); writing one by one", len(batch), exc)
            return any([self._write([pending]) for pending in batch])
        for pending in batch:
            pending._finish(None)
        return True


def _resolver(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]
) -> Callable[[Pending], None]:
    """A done-callback, run in the writer thread, that settles `future` on its loop."""

    def callback(pending: Pending) -> None:
        loop.call_soon_threadsafe(_resolve, future, pending.error)

    return callback


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return  # the waiter gave up (timeout)
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
