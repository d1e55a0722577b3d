"""Page webhooks on the wire: one deadline for the whole call, not a timeout per read, so a
receiver trickling its answer is cut off and the page retried; a redirect is not followed;
and webhooks go out in a lane of their own, so while a pager holds its call, Slack messages
keep flowing (a `/case list` answer within 2 s)."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from bot import webhooks
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.page_webhooks import LEVEL_1, SECRET, local_hook, serve_receiver, webhook_rows
from tests.support.paging import ONCALL, POLICY, PRIMARY, pages, paging_bot_for
from tests.support.serve_process import wait_until

# These tests time calls against the wall clock: they run one at a time, with the tests that
# start processes, where no other test competes for the machine.
pytestmark = pytest.mark.slow

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
LIST_ANSWER = (
    "*CASE-1* SEV 1, open: first response due "
    "<!date^1768017600^{date_short_pretty} at {time}|Sat 10 Jan 2026 04:00 UTC>"
)


@dataclass
class Call:
    began: float
    ended: float | None = None  # when the bot hung up


@dataclass
class Trickler:
    """A pager on 127.0.0.1 that answers its first call a byte every quarter second (a
    minute's worth of bytes at a 10 s per-read timeout would never time out) and later
    calls at once."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    redirect_to: str | None = None


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(65536)


def _answer(state: Trickler, conn: socket.socket) -> None:
    call = Call(time.monotonic())
    state.calls.append(call)
    with conn:
        _read_request(conn)
        if state.redirect_to is not None:
            conn.sendall(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                + state.redirect_to.encode()
                + b"\r\nContent-Length: 0\r\n\r\n"
            )
            return
        if len(state.calls) > 1:
            conn.sendall(ANSWER)
            return
        for byte in ANSWER:
            try:
                conn.send(bytes([byte]))
            except OSError:
                break
            readable, _, _ = select.select([conn], [], [], 0.25)
            if readable and not conn.recv(1):
                break
        call.ended = time.monotonic()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    state = Trickler()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    state.url = f"http://127.0.0.1:{server.getsockname()[1]}/page"

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_answer, args=(state, conn), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield state
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1")


def test_a_call_has_one_deadline_however_the_answer_trickles(trickler: Trickler) -> None:
    started = time.monotonic()
    with pytest.raises(webhooks.DeadlinePassed) as cut:
        webhooks.post(trickler.url, {"type": "page"}, SECRET, "7", deadline=1.0)
    took = time.monotonic() - started
    assert str(cut.value) == "no answer within 1 s"
    assert 1.0 <= took < 1.5
    # The receiver saw the bot hang up, at the deadline and not at the end of the answer.
    assert wait_until(lambda: trickler.calls[0].ended is not None, timeout=2)
    [call] = trickler.calls
    assert call.ended is not None and call.ended - call.began < 1.6


def test_a_redirect_is_not_followed_and_the_page_fails_saying_so(
    sqlite_url: str, tmp_path: Path, trickler: Trickler
) -> None:
    for elsewhere in serve_receiver(SECRET):
        trickler.redirect_to = elsewhere.url
        policy = POLICY.replace(LEVEL_1, LEVEL_1.replace('"]', f'", {local_hook(trickler.url)}]'))
        for bot in paging_bot_for(sqlite_url, tmp_path, policy, page_webhook_secret=SECRET):
            ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "it broke")
            react(bot, ts)
            bot.settle()
            assert len(trickler.calls) == 1
            assert elsewhere.requests == []  # the signature headers went nowhere else
            [(_, *state)] = webhook_rows(bot)
            assert state[:2] == ["failed", 1]
            assert (
                last_error(bot) == "HttpStatusError: answered HTTP 307 (a redirect, not followed)"
            )


DEADLINE = 3.0


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path, trickler: Trickler) -> Iterator[Bot]:
    """The paging bot with `trickler` on level 1, its background work running as `serve`
    runs it: the passes, and the webhook lane beside them."""
    policy = POLICY.replace(LEVEL_1, LEVEL_1.replace('"]', f'", {local_hook(trickler.url)}]'))
    bots = paging_bot_for(
        sqlite_url, tmp_path, policy, page_webhook_secret=SECRET, tick_seconds=0.1
    )
    bot = next(bots)
    bot.runtime.deliverer.webhook_deadline = DEADLINE
    bot.runtime.passes.start()
    try:
        yield bot
    finally:
        bot.runtime.passes.stop()
        bots.close()


def test_a_trickling_pager_is_cut_off_and_retried_while_slack_messages_flow(
    live: Bot, trickler: Trickler
) -> None:
    bot = live
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "it broke")
    react(bot, ts)
    assert wait_until(lambda: len(trickler.calls) == 1, timeout=10)
    # The pager holds its call; the Slack pages of the same step went out all the same.
    assert wait_until(lambda: len(pages(bot)) == 2, timeout=2)
    assert [p[:2] for p in pages(bot)] == [("03:00", PRIMARY), ("03:00", ONCALL)]

    form = payloads.slash_command(
        "/case",
        "list",
        user_id=ENGINEER,
        channel_id=SUPPORT,
        team_id=bot.slack.team_id,
        response_url=bot.slack.response_url("list"),
    )
    asked = time.monotonic()
    assert bot.driver.command(form).status == 200
    assert wait_until(lambda: bot.slack.responses("list") != [], timeout=2)
    assert time.monotonic() - asked < 2.0
    [answer] = bot.slack.responses("list")
    assert answer["text"] == LIST_ANSWER
    [call] = trickler.calls
    assert call.ended is None  # answered while the pager still held its call

    # Cut off at the deadline, not when the last byte would have come.
    assert wait_until(lambda: call.ended is not None, timeout=DEADLINE + 2)
    assert call.ended is not None and call.ended - call.began < DEADLINE + 0.6
    assert wait_until(lambda: webhook_rows(bot)[0][1] == "pending", timeout=2)
    [(_, status, attempts, next_at, sent)] = webhook_rows(bot)
    assert (status, attempts, next_at, sent) == ("pending", 1, "03:00:02", None)
    assert last_error(bot) == f"no answer: DeadlinePassed: no answer within {DEADLINE:g} s"

    # Retried after its backoff (2 s on the bot's clock), and answered at once this time.
    bot.clock.advance(timedelta(seconds=2))
    assert wait_until(lambda: webhook_rows(bot)[0][1] == "sent", timeout=5)
    assert len(trickler.calls) == 2


def react(bot: Bot, ts: str) -> None:
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200


def last_error(bot: Bot) -> str | None:
    from sqlalchemy import select

    from bot.db.models import OutboxMessage

    with bot.runtime.sessions() as session:
        return session.execute(
            select(OutboxMessage.last_error).where(OutboxMessage.intent == "page_webhook")
        ).scalar_one()
