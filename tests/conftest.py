from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.db.models import Case, InboxEvent
from bot.demo.stand_in.server import serve_in_thread
from bot.runtime import Runtime
from tests.support.db import database, start_migrated
from tests.support.fake_slack import FakeSlack
from tests.support.logscan import COLLECTOR, install, scan
from tests.support.server import SIGNING_SECRET, settings_for
from tests.support.signing import SlackDriver

SUPPORT = "C0SUPPORT1"
TRIAGE = "C0TRIAGE01"
PRIVATE = "G0PRIVATE1"
CUSTOMER = "U0CUSTOMR1"
ENGINEER = "U0ENGINEER"
SHIPPED_ONCALL_USERS = ("U00000000E1", "U00000000E2", "U00000000E3", "U00000000L1")
SHIPPED_ONCALL_CHANNEL = "C00000000P1"


@pytest.fixture(scope="session", autouse=True)
def log_scan() -> Iterator[None]:
    """Across the whole run, at every level: no token, signing secret, request body, OAuth
    code, response URL or message text in any log line."""
    from bot.logs import RedactFilter

    COLLECTOR.addFilter(RedactFilter([SIGNING_SECRET]))
    install(COLLECTOR)
    yield
    texts = list(COLLECTOR.lines)
    texts += [p.read_text(errors="replace") for p in COLLECTOR.files if p.exists()]
    found = scan(texts, (SIGNING_SECRET,))
    assert not found, f"what must never be logged reached the logs: {found}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(CUSTOMER, "ana", "Ana")
        fake.add_user(ENGINEER, "sam", "Sam")
        fake.add_channel(SUPPORT, "support", bot_member=True)
        fake.add_channel(TRIAGE, "support-triage", bot_member=True)
        fake.add_channel(PRIVATE, "secret-project", bot_member=False, is_private=True)
        # The shipped default policy pages these placeholder people and on-call channel.
        for user in SHIPPED_ONCALL_USERS:
            fake.add_user(user, user.lower(), user)
        fake.add_channel(SHIPPED_ONCALL_CHANNEL, "oncall", bot_member=True)
        yield fake
        assert_known_methods(fake)


def assert_known_methods(fake: FakeSlack) -> None:
    """A call to a method the stand-in does not know fails the test that made it: the
    stand-in lists every method the bot may call, with Slack's rules for each."""
    unknown = sorted({c.method for c in fake.calls() if c.error == "unknown_method"})
    assert not unknown, f"the bot called Web API methods the stand-in does not know: {unknown}"


@dataclass
class Bot:
    runtime: Runtime
    url: str
    driver: SlackDriver
    slack: FakeSlack
    clock: FakeClock

    def settle(self) -> None:
        self.runtime.settle()

    def count(self, model: Any) -> int:
        with self.runtime.sessions() as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    def cases(self) -> list[Case]:
        with self.runtime.sessions() as session:
            return list(session.execute(select(Case).order_by(Case.number)).scalars())

    def inbox(self) -> int:
        return self.count(InboxEvent)


def make_bot(
    db_url: str, slack: FakeSlack, clock: FakeClock | None = None, **settings: Any
) -> Iterator[Bot]:
    clock = clock or FakeClock()
    start_migrated(db_url)
    runtime = Runtime(
        settings_for(db_url, slack.base_url, slack.token, **settings),
        clock=clock,
        paced=False,
    )
    runtime.migrate()
    try:
        with serve_in_thread(runtime) as url:
            driver = SlackDriver(url, SIGNING_SECRET, slack=slack)
            yield Bot(runtime, url, driver, slack, clock)
    finally:
        runtime.stop()


@pytest.fixture
def sqlite_bot(sqlite_url: str, slack: FakeSlack) -> Iterator[Bot]:
    yield from make_bot(sqlite_url, slack, triage_channel=TRIAGE)


@pytest.fixture
def bot(db_url: str, slack: FakeSlack) -> Iterator[Bot]:
    yield from make_bot(db_url, slack, triage_channel=TRIAGE)


@pytest.fixture
def paging_bot(db_url: str, tmp_path: Path) -> Iterator[Bot]:
    """The bot running the paging policy of tests/support/paging.py, from Saturday 03:00."""
    # Imported here: that module builds on this one's Bot and make_bot.
    from tests.support.paging import paging_bot_for

    yield from paging_bot_for(db_url, tmp_path)
