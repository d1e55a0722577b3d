"""Serve the bot's web app under uvicorn in a thread, on an ephemeral loopback port (the
demo and the tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bot.runtime import Runtime
from bot.web import build_web


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopped at once from another thread. uvicorn notices `should_exit`
    at its next 0.1 s tick, then pauses 0.1 s more for connections to close and polls them
    every 0.1 s: a quarter of a second on the way down of every test bot."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.up.set()  # set whether it started or gave up (then `started` stays False)

    def stop(self) -> None:
        """From any thread: exit now."""
        self.should_exit = True
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(woken.set)

    async def main_loop(self) -> None:
        # uvicorn's loop (on_tick keeps the Date header current), woken early by stop().
        # should_exit is set before stop() reads _loop, so a stop that finds no loop yet is
        # seen by the first tick.
        self._woken = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's shutdown, waiting for open connections and requests only while there
        # are any, in short steps, instead of a fixed 0.1 s pause and 0.1 s polls.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        while self.server_state.connections or self.server_state.tasks:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


@contextmanager
def serve_in_thread(runtime: Runtime, background: bool = False) -> Iterator[str]:
    """Serve under uvicorn on an ephemeral port; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_web(runtime, background=background),
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = _PromptServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.up.wait(0.05):
        if time.monotonic() > deadline or not thread.is_alive():
            break
    if not server.started:
        raise RuntimeError("the bot's HTTP server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        thread.join(timeout=10)
        sock.close()
