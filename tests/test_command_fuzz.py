"""Generated command text, through the real endpoint: every `/severity`, `/case` and `/oncall` gets
HTTP 200 and a private answer, no error is logged, and text the bot cannot parse changes
nothing."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.cases.commands import UsageError, parse_case, parse_severity
from bot.db.models import CaseEvent, InboxEvent
from bot.oncall.commands import parse_oncall
from tests.conftest import Bot
from tests.support.cases import open_case
from tests.support.slash_commands import run

WORDS = st.sampled_from(
    [
        "CASE-1",
        "case-2",
        "1",
        "#1",
        "CASE-99",
        "sev1",
        "SEV 2",
        "critical",
        "p3",
        "low",
        "take",
        "wait",
        "resume",
        "resolve",
        "show",
        "list",
        "all",
        "assign",
        "help",
        "<@U0ENGINEER>",
        "²",
        "CASE-" + "9" * 30,
        "🎫",
        "\u202e",
        "''",
        "`",
        "*bold*",
        "<!channel>",
        "override",
        "engineering",
        "2026-01-10",
        "2026-13-40",
        "12:00",
        "25:99",
        "2026-01-10T18:00",
    ]
)
TEXT = st.one_of(
    st.lists(WORDS, max_size=5).map(" ".join),
    st.text(max_size=80),
    st.text(min_size=1990, max_size=2100, alphabet="ab "),
)


def changes(bot: Bot) -> tuple[int, int]:
    with bot.runtime.sessions() as session:
        events = session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
        inbox = session.execute(select(func.count()).select_from(InboxEvent)).scalar_one()
    return int(events), int(inbox)


@pytest.mark.parametrize("command", ["/severity", "/case", "/oncall"])
def test_any_text_gets_a_private_answer_and_bad_text_changes_nothing(
    sqlite_bot: Bot, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    open_case(sqlite_bot)
    parse = {"/severity": parse_severity, "/case": parse_case, "/oncall": parse_oncall}[command]

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=TEXT)
    def one(text: str) -> None:
        before = changes(sqlite_bot)
        with caplog.at_level(logging.WARNING):
            caplog.clear()
            status, ack, answers = run(sqlite_bot, command, text)
        assert status == 200
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        try:
            parsed = parse(text)
        except UsageError:
            assert ack is not None and ack["response_type"] == "ephemeral" and ack["text"]
            assert answers == [] and changes(sqlite_bot) == before
            return
        if parsed.verb == "help":
            assert ack is not None and ack["response_type"] == "ephemeral"
        elif (
            parsed.verb == "severity"
            and getattr(parsed, "number", 0) is None
            and getattr(parsed, "level", 0) is None
        ):
            assert ack is None and answers == []  # the severity modal asks instead
        else:
            assert ack is None and len(answers) == 1 and answers[0]

    one()
