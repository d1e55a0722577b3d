"""For tests that run `escalation-bot serve` (or its worker) as real processes: the
environment it starts with, waiting for what it does, the rows it left in the database, the
cards it posted, and its child processes as Linux shows them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case, InboxEvent, OutboxMessage
from tests.conftest import SUPPORT
from tests.support.bot_messages import is_card
from tests.support.fake_slack import FakeSlack
from tests.support.server import SIGNING_SECRET

POLICIES = Path(__file__).parent.parent.parent / "policies"


def env_for(db_url: str, slack: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment of a `serve` process on `db_url`, talking to the stand-in, with the
    shipped policies and a fast tick."""
    return {
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "POLICIES_PATH": str(POLICIES),
        "TICK_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def wait_until(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def counts(db_url: str) -> tuple[int, int]:
    """(cases, inbox rows) in the database at `db_url`."""
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            cases = s.execute(select(func.count()).select_from(Case)).scalar_one()
            inbox = s.execute(select(func.count()).select_from(InboxEvent)).scalar_one()
        return int(cases), int(inbox)
    finally:
        engine.dispose()


def db_rows(url: str) -> tuple[int, list[tuple[str, str]]]:
    """(cases, (intent, status) of every outbox message neither sent nor skipped) at `url`."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            cases = int(s.execute(select(func.count()).select_from(Case)).scalar_one())
            left = s.execute(
                select(OutboxMessage.intent, OutboxMessage.status).where(
                    OutboxMessage.status.not_in(("sent", "skipped"))
                )
            ).all()
        return cases, [tuple(r) for r in left]  # type: ignore[misc]
    finally:
        engine.dispose()


def is_card_message(message: Any) -> bool:
    """A case card: the message in a case's thread with the severity buttons (the policy's
    intake ask may follow it in the same thread)."""
    return is_card(message.blocks)


def replies(slack: FakeSlack, ts: str) -> list:
    """The case cards posted in the thread of message `ts`."""
    return [
        m for m in slack.posted_messages(SUPPORT) if m.thread_ts == ts and is_card_message(m)
    ]


def child_pids(pid: int) -> list[int]:
    """The process ids of `pid`'s children."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def is_alive(pid: int) -> bool:
    """Whether `pid` runs: it exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")
