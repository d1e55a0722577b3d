"""A page webhook's receiver for the tests: an external pager on 127.0.0.1 that checks each
request's signature itself, and the paging bot whose level 1 also pages it."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import webhooks
from bot.db.models import OutboxMessage
from bot.demo.stand_in.serving import PromptServer
from tests.conftest import Bot
from tests.support.paging import POLICY, paging_bot_for

SECRET = "page-hook-secret-4b1e77"
OTHER_SECRET = "someone-elses-secret-9c2d"
LEVEL_1 = '- {notify: ["schedule:platform"], wait: 10m}'


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool
    status: int

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Receiver:
    """An external pager on 127.0.0.1: checks each request's signature with its own
    secret, answers 401 to a bad one, 500 to the first good one and 200 afterwards."""

    secret: str
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    down: bool = False  # answers 500 to everything

    def check(self, headers: dict[str, str], body: bytes) -> bool:
        """`headers` with lower-case names (urllib sends them capitalized, not as written)."""
        stamp = headers.get(webhooks.TIMESTAMP.lower(), "")
        base = b"v1:" + stamp.encode() + b":" + body
        expected = "v1=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
        return fresh and hmac.compare_digest(expected, headers.get(webhooks.SIGNATURE.lower(), ""))

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        valid = self.check(headers, body)
        good_before = any(r.valid for r in self.requests)
        status = 401 if not valid else 200 if good_before and not self.down else 500
        self.requests.append(Received(headers, body, valid, status))
        return status


def serve_receiver(secret: str, down: bool = False) -> Iterator[Receiver]:
    state = Receiver(secret, down=down)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output to the test's own

    server = PromptServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/page"
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.stop()
        thread.join(timeout=5)
        server.server_close()


def local_hook(url: str) -> str:
    """A webhook target for a receiver on this machine: plain http, so marked insecure."""
    return f'{{webhook: "{url}", insecure: true}}'


def webhook_bot(db_url: str, tmp_path: Path, url: str, secret: str | None) -> Iterator[Bot]:
    """tests.support.paging's bot, with level 1 also paging `url` and the webhook secret set."""
    policy = POLICY.replace(LEVEL_1, LEVEL_1.replace('"]', f'", {local_hook(url)}]'))
    assert policy != POLICY
    yield from paging_bot_for(db_url, tmp_path, policy, page_webhook_secret=secret)


def webhook_rows(bot: Bot) -> list[tuple[int, str, int, str, str | None]]:
    """Each page_webhook outbox row: (id, status, attempts, next attempt, sent), HH:MM:SS."""
    with bot.runtime.sessions() as session:
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.next_attempt_at,
                OutboxMessage.sent_at,
            )
            .where(OutboxMessage.intent == "page_webhook")
            .order_by(OutboxMessage.id)
        ).all()
    return [
        (i, s, a, n.strftime("%H:%M:%S"), t.strftime("%H:%M:%S") if t else None)
        for i, s, a, n, t in rows
    ]
