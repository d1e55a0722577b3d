"""Every outbox intent has a payload class: a row of each is written through the one writer
the bot uses, stored in the shape rows have always had, and read back into its class."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot import outbox
from bot.cases.writes import enqueue
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import OutboxMessage
from bot.db.states import OutboxStatus
from bot.outbox import PAYLOADS, Intent, PayloadError
from bot.outbox import payloads as p
from bot.slack.intents import RENDERERS

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
AT = "2026-12-07T09:30:00+00:00"
DUE = "2026-12-07T10:00:00+00:00"
PAGE = {
    "page": 4,
    "step": 1,
    "round": 1,
    "level": 2,
    "severity": "sev1",
    "severity_name": "SEV 1",
    "summary": "Checkout is down for every EU customer",
    "ack_emoji": "eyes",
    "breach": None,
    "status_page": "https://status.example.com",
}
# One payload per intent, as the bot writes them (thread_ts, optional fields, lists).
EXAMPLES: dict[Intent, dict[str, Any]] = {
    Intent.CASE_CARD: {"thread_ts": "1733563800.000100"},
    Intent.CASE_CARD_UPDATE: {},
    Intent.CASE_CARD_REFRESH: {},
    Intent.INTAKE_ASK: {"thread_ts": "1733563800.000100"},
    Intent.TRIAGE_NOTICE: {},
    Intent.SEVERITY_CHANGED: {
        "thread_ts": "1733563800.000100",
        "actor": "U0ENGINEER",
        "old": "sev3",
        "new": "sev1",
        "reason": "every EU customer",
    },
    Intent.EPHEMERAL_NOTICE: {"user": "U0REQUEST", "thread_ts": "1.2", "text": "No."},
    Intent.SLA_REMINDER: {
        "thread_ts": "1.2",
        "target": "first_response",
        "due_at": DUE,
        "fired_at": AT,
        "on_call_users": ["U0ONCALL1"],
        "on_call_groups": ["S0ONCALL"],
    },
    Intent.BREACH_ALERT: {
        "thread_ts": "1.2",
        "target": "resolution",
        "due_at": DUE,
        "fired_at": AT,
    },
    Intent.BREACH_NOTICE: {
        "groups": ["S0LEADS"],
        "target": "first_response",
        "due_at": DUE,
        "fired_at": AT,
    },
    Intent.DM_NOTICE: {"notice": "invite_hint", "source_channel": "C0SUPPORT"},
    Intent.CASE_CHANGED: {
        "thread_ts": "1.2",
        "actor": "U0ENGINEER",
        "what": "resolved",
        "source": None,
        "note": "rolled back the deploy",
    },
    Intent.RESOLUTION_SUMMARY: {
        "thread_ts": "1.2",
        "opened_at": AT,
        "resolved_at": DUE,
        "first_due": DUE,
        "first_met": None,
        "first_by": None,
        "waited_seconds": 120.5,
        "breaches": 1,
    },
    Intent.COMMAND_REPLY: {"user": "U0ENGINEER", "response_url": None, "text": "CASE-1 taken."},
    Intent.OPEN_VIEW: {"trigger_id": "12345.98765.abcd", "view": {"type": "modal", "blocks": []}},
    Intent.HOME_VIEW: {"view": {"type": "home", "blocks": []}},
    Intent.WEEKLY_REPORT: {
        "text": "Week to Monday",
        "png": "iVBORw0KGgo=",
        "filename": "week.png",
        "title": "First responses",
        "alt_text": "A bar chart",
    },
    # As a step writes it: with the facts of its case, so it renders without reading `cases`.
    Intent.PAGE_DM: {
        **PAGE,
        "about": {
            "number": 7,
            "team": "T0ACME0001",
            "channel": "C0SUPPORT1",
            "policy": "default",
            "permalink": "https://acme.slack.com/archives/C0SUPPORT1/p1733563800000100",
            "requester": "U0CUSTOMR1",
        },
    },
    Intent.PAGE_POST: {**PAGE, "users": ["U0ONCALL1"], "groups": []},
    Intent.PAGE_WARNING: {**PAGE, "schedules": ["primary"], "fallback": ["#incidents"]},
    Intent.PAGE_ACKNOWLEDGED: {
        "thread_ts": "1.2",
        "page": 4,
        "user": "U0ONCALL1",
        "at": AT,
        "took": True,
    },
    Intent.PAGE_CLOSED: {"ts": "1.3", "severity_name": "SEV 1", "user": "U0ONCALL1", "at": AT},
    Intent.PAGE_STOPPED: {"why": "the case is resolved"},
    Intent.PAGE_WEBHOOK: {**PAGE, "url": "https://pager.example.com/hook", "users": []},
    Intent.HANDOFF_DM: {
        "schedule": "primary",
        "at": AT,
        "previous": "U0ONCALL1",
        "cases": [
            {
                "case": "CASE-7",
                "channel": "C0SUPPORT",
                "severity": "SEV 2",
                "status": "open",
                "due": DUE,
                "next_due": None,
                "permalink": None,
            }
        ],
    },
}


def test_every_intent_has_a_payload_class_an_example_and_a_renderer() -> None:
    assert set(PAYLOADS) == set(Intent)
    assert set(EXAMPLES) == set(Intent)
    assert set(RENDERERS) == {str(i) for i in Intent}


def test_a_row_of_each_intent_is_written_and_read_back(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        for intent, data in EXAMPLES.items():
            enqueue(session, NOW, team_id="T0ACME", channel_id="C0SUPPORT", intent=intent, **data)
    with sessions() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
        stored = [(row.intent, row.status, row.data) for row in rows]
    engine.dispose()
    # Stored as given: the JSON rows of an earlier release had exactly this shape.
    assert stored == [(str(i), OutboxStatus.PENDING, d) for i, d in EXAMPLES.items()]
    for intent, _, data in stored:
        payload = outbox.read(intent, data)
        assert type(payload) is PAYLOADS[Intent(intent)]
        assert payload.model_dump(mode="json", exclude_unset=True) == data
    handoff = outbox.read("handoff_dm", stored[-1][2])
    assert isinstance(handoff, p.HandoffDm)
    assert handoff.cases[0].case == "CASE-7"
    assert handoff.cases[0].due == DUE


def test_a_field_the_intent_does_not_have_is_refused_before_anything_is_written(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with pytest.raises(PayloadError) as refused, sessions.begin() as session:
        enqueue(
            session,
            NOW,
            team_id="T0ACME",
            channel_id="C0SUPPORT",
            intent=Intent.PAGE_STOPPED,
            why="the case is resolved",
            reason="typo for why",
        )
    with sessions() as session:
        assert session.execute(select(OutboxMessage)).first() is None
    engine.dispose()
    assert str(refused.value) == "page_stopped payload: reason: Extra inputs are not permitted"


def test_a_row_read_back_with_a_bad_instant_or_an_unknown_intent_says_which() -> None:
    with pytest.raises(PayloadError) as naive:
        outbox.read("page_acknowledged", {"page": 4, "user": "U0ONCALL1", "at": "2026-12-07T09:30"})
    assert str(naive.value) == (
        "page_acknowledged payload: at: Value error, an instant needs its UTC offset"
    )
    with pytest.raises(PayloadError) as missing:
        outbox.read("page_stopped", {})
    assert str(missing.value) == "page_stopped payload: why: Field required"
    with pytest.raises(PayloadError) as unknown:
        outbox.read("fax_notice", {})
    assert str(unknown.value) == "unknown outbox intent 'fax_notice'"
