"""Background work waits while Slack requests are being answered, but never for long."""

from __future__ import annotations

import threading
import time

from bot.gate import RequestGate


def test_no_waiting_when_no_request_is_in_flight() -> None:
    gate = RequestGate(max_wait=5.0)
    started = time.monotonic()
    gate.step_aside()
    assert time.monotonic() - started < 1.0


def test_background_waits_for_the_request_in_flight() -> None:
    gate = RequestGate(max_wait=5.0)
    order: list[str] = []
    inside = threading.Event()

    def request() -> None:
        with gate.request():
            inside.set()
            time.sleep(0.2)
            order.append("request done")

    thread = threading.Thread(target=request)
    thread.start()
    inside.wait()
    gate.step_aside()
    order.append("background")
    thread.join()
    assert order == ["request done", "background"]


def test_under_constant_requests_background_still_advances() -> None:
    gate = RequestGate(max_wait=0.05)
    with gate.request():
        started = time.monotonic()
        gate.step_aside()  # a request is in flight the whole time
        waited = time.monotonic() - started
    assert 0.04 <= waited < 2.0
