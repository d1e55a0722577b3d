"""Background work waits while Slack requests are being answered, but never for long: in the
serving process (`RequestGate`) and in a worker process watching it (`WatchedGate`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from bot.gate import RequestGate, WatchedGate

StepAside = Callable[[], None]


def in_process(gate: RequestGate, max_wait: float) -> StepAside:
    gate.max_wait = max_wait
    return gate.step_aside


def from_a_worker(gate: RequestGate, max_wait: float) -> StepAside:
    return WatchedGate(gate.share(), max_wait=max_wait).step_aside


SIDES = pytest.mark.parametrize("background", [in_process, from_a_worker])


@SIDES
def test_no_waiting_when_no_request_is_in_flight(background) -> None:  # type: ignore[no-untyped-def]
    step_aside = background(RequestGate(), 5.0)
    started = time.monotonic()
    step_aside()
    assert time.monotonic() - started < 1.0


@SIDES
def test_background_waits_for_the_request_in_flight(background) -> None:  # type: ignore[no-untyped-def]
    gate = RequestGate()
    step_aside = background(gate, 5.0)
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
    step_aside()
    order.append("background")
    thread.join()
    assert order == ["request done", "background"]


@SIDES
def test_under_constant_requests_background_still_advances(background) -> None:  # type: ignore[no-untyped-def]
    gate = RequestGate()
    step_aside = background(gate, 0.05)
    with gate.request():
        started = time.monotonic()
        step_aside()  # a request is in flight the whole time
        waited = time.monotonic() - started
    assert 0.04 <= waited < 2.0
