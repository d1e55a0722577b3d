"""The ack path waits on nothing the rest of the bot holds: a thread reply is stored and
acked while another transaction locks `cases`, and whether its thread holds a case is
decided after the ack. A connection the database cut is replaced before anyone uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.db.engine import make_engine
from bot.db.models import CaseEvent, InboxEvent
from bot.db.states import CaseEventKind, InboxKind
from tests.conftest import ENGINEER, SUPPORT, TRIAGE, Bot, make_bot
from tests.support.cases import open_case, say
from tests.support.db import database
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_bot(tmp_path: Path, slack: FakeSlack) -> Iterator[tuple[Bot, str]]:
    with database("postgres", tmp_path) as url:
        for bot in make_bot(url, slack, triage_channel=TRIAGE):
            yield bot, url


def test_a_thread_reply_is_acked_while_cases_is_locked_and_counts_after(
    pg_bot: tuple[Bot, str],
) -> None:
    bot, url = pg_bot
    root = open_case(bot)
    locker = make_engine(url)
    conn = locker.connect()
    held = conn.begin()
    try:
        # A long migration or a VACUUM FULL holds this lock: every read of `cases` waits.
        conn.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
        # The request returns while the lock is still held: were the ack to read `cases`, it
        # would wait for a lock this test only releases after the answer.
        assert say(bot, ENGINEER, "Looking at it now.", root) == 200
        with bot.runtime.sessions() as session:
            stored = session.execute(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.kind == InboxKind.THREAD_MESSAGE)
            ).scalar_one()
        assert stored == 1
    finally:
        held.rollback()
        conn.close()
        locker.dispose()
    bot.settle()
    with bot.runtime.sessions() as session:
        kinds = list(session.execute(select(CaseEvent.kind).order_by(CaseEvent.id)).scalars())
    assert kinds.count(CaseEventKind.RESPONDER_REPLY) == 1


def test_a_reply_in_a_thread_without_a_case_is_stored_and_changes_nothing(
    pg_bot: tuple[Bot, str],
) -> None:
    bot, _ = pg_bot
    root = bot.slack.post_user_message(SUPPORT, ENGINEER, "lunch?")
    assert say(bot, ENGINEER, "yes", root) == 200
    bot.settle()
    with bot.runtime.sessions() as session:
        rows = session.execute(select(InboxEvent.kind, InboxEvent.status)).all()
        events = session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
    assert [tuple(r) for r in rows] == [("thread_message", "done")]
    assert events == 0


def test_readiness_survives_the_database_cutting_every_connection(
    pg_bot: tuple[Bot, str],
) -> None:
    bot, url = pg_bot
    assert bot.runtime.ready() == (True, "ready")
    killer = make_engine(url)
    with killer.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND application_name = :mine"
            ),
            {"mine": url.rsplit("application_name=", 1)[1]},
        ).scalar_one()
    killer.dispose()
    assert killed >= 1
    # Each pooled connection is tested before use: the first ask after the cut is answered.
    assert bot.runtime.ready() == (True, "ready")
