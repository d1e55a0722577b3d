"""`escalation-bot purge`: what people wrote and who they were go; every figure stays."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import (
    Case,
    CaseEvent,
    Feedback,
    InboxEvent,
    OncallOverride,
    OutboxMessage,
)
from bot.db.slack_tables import schema
from bot.reports import figures, formats
from bot.reports.purge import purge
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support.cases import open_case
from tests.support.cli import run
from tests.support.paging import LEAD, ONCALL, PRIMARY, SECOND
from tests.support.report_desk import (
    AS_OF,
    COMMENTS,
    EXPECTED,
    INTERNAL,
    NOTES,
    OLD_REQUESTER,
    OLD_RESPONDER,
    REQUESTER,
    SINCE,
    TEAM,
    TEXTS,
    UNTIL,
    Desk,
    build_desk,
    day,
)
from tests.support.slash_commands import run as command

# Three days before Friday 12:15 is Tuesday 12:15: cases 1 (resolved Monday 09:30), 2
# (Monday 11:00) and 3 (Tuesday 11:00) are purged; case 4 (resolved Tuesday 15:00) and the
# later ones are not.
PURGED = (1, 2, 3)
CUTOFF = day(6, 12, 15)
FORGOTTEN = [TEXTS[n] for n in PURGED] + [NOTES[n] for n in PURGED] + list(COMMENTS.values())
FORGOTTEN += [OLD_REQUESTER, OLD_RESPONDER, "the reply in case 1's thread", INTERNAL[2]]


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    built = build_desk(db_url, tmp_path)
    yield built
    built.sessions.kw["bind"].dispose()


def every_text(desk: Desk) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text or JSON value in every table, JSON as text."""
    found = []
    with desk.sessions() as session:
        for table in schema().sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, dict | list):
                        value = json.dumps(value)
                    if isinstance(value, str):
                        found.append((table.name, str(column), value))
    return found


def transport_rows(desk: Desk) -> None:
    """What the running bot also keeps: the Slack request that carried a message of case 1's
    thread (processed), one still to process, an answer to a command about case 2 and a
    direct message to case 1's requester."""
    with desk.sessions.begin() as session:
        for status, user, text in (
            ("done", OLD_RESPONDER, "the reply in case 1's thread"),
            ("pending", "U0SOMEONE1", "not yet"),
        ):
            session.add(
                InboxEvent(
                    dedupe_key=f"{TEAM}:Ev{status}",
                    kind="thread_message",
                    team_id=TEAM,
                    payload={"event": {"user": user, "text": text}},
                    received_at=day(5, 9, 10),
                    status=status,
                    attempts=1,
                    next_attempt_at=day(5, 9, 10),
                    processed_at=day(5, 9, 10) if status == "done" else None,
                )
            )
        for channel, intent, key, data in (
            ("C0SUPPORT1", "command_reply", None, {"text": f"CASE-2 resolved: {NOTES[2]}"}),
            (OLD_REQUESTER, "dm_notice", f"dm:{TEAM}:invite:{OLD_REQUESTER}", {"why": "invite"}),
        ):
            session.add(
                OutboxMessage(
                    team_id=TEAM,
                    channel_id=channel,
                    intent=intent,
                    data=data,
                    dedupe_key=key,
                    status="sent",
                    attempts=1,
                    created_at=day(5, 11),
                    next_attempt_at=day(5, 11),
                )
            )


def reports(desk: Desk) -> list[str]:
    with desk.sessions() as session:
        found = figures.report(session, SINCE, UNTIL, AS_OF)
        weeks = figures.report(session, AS_OF - timedelta(days=7), AS_OF, AS_OF)
    return [formats.render(r, fmt) for r in (found, weeks) for fmt in formats.FORMATS]


def test_purge_forgets_the_words_and_people_and_keeps_the_figures(desk: Desk) -> None:
    transport_rows(desk)
    before = reports(desk)
    with desk.sessions() as session:
        processed = select(func.count()).select_from(InboxEvent)
        processed = processed.where(InboxEvent.status == "done", InboxEvent.received_at < CUTOFF)
        inbox = session.execute(processed).scalar_one()
    texts = [value for _, _, value in every_text(desk)]
    assert all(any(word in text for text in texts) for word in FORGOTTEN)

    with desk.sessions.begin() as session:
        done = purge(session, AS_OF, timedelta(days=3))

    # Events changed: case 1's opened, severity_changed, responder_reply, resolved and
    # feedback (5, each by a person); case 2's the same 5, its internal note, and its
    # breach_alert, the bot's own with nothing to remove; case 3's opened, severity_changed,
    # responder_reply, waiting_on_requester, requester_message and resolved (6): 17.
    # Outbox rows changed: case 1's card, severity notice, resolved notice and summary (4);
    # case 2's the same and its breach alert (5); case 3's card, severity notice, waiting and
    # resolved notices and summary (5); the command answer; and case 4's card, written at
    # Tuesday 12:00, before the cutoff (its card updates carry nothing); and the direct
    # message: 17. Inbox: every request processed before the cutoff, ours included.
    assert (done.cutoff, done.cases, done.events, done.feedback, done.outbox) == (
        CUTOFF,
        3,
        17,
        2,
        17,
    )
    assert done.inbox == inbox >= 1
    assert reports(desk) == before
    left = [hit for hit in every_text(desk) if any(w in hit[2] for w in FORGOTTEN)]
    assert left == []
    desk_policy = desk.policies.get("desk")
    assert desk_policy is not None
    digest = desk_policy.content_hash
    with desk.sessions() as session:
        kept = {c.id: c for c in session.execute(select(Case)).scalars()}
        # Case 4, resolved after the cutoff, keeps its text and people.
        case4 = kept[desk.numbers[4]]
        assert (case4.text, case4.requester_id) == (TEXTS[4], REQUESTER)
        case1 = kept[desk.numbers[1]]
        assert (case1.text, case1.permalink, case1.requester_id, case1.opened_by) == (
            "",
            None,
            None,
            "",
        )
        assert [(e.kind, e.actor, e.data) for e in events(session, desk.numbers[2])] == [
            ("opened", "", {"severity": "low", "policy": "desk", "policy_hash": digest}),
            ("severity_changed", "", {"old": "low", "new": "high"}),
            (
                "breach_alert",
                "escalation-bot",
                {
                    "target": "first_response",
                    "due_at": "2026-01-05T10:30:00+00:00",
                    "fired_at": "2026-01-05T10:30:00+00:00",
                },
            ),
            ("note", "", {}),
            ("responder_reply", "", {"ts": "1.2"}),
            ("resolved", "", {}),
            ("feedback", "", {"rating": "bad"}),
        ]
        ratings = session.execute(select(Feedback.rating, Feedback.comment, Feedback.user_id))
        assert sorted(ratings) == [("bad", None, ""), ("good", None, "")]
        pending = session.execute(select(InboxEvent.payload).where(InboxEvent.status == "pending"))
        assert pending.scalar_one() == {"event": {"user": "U0SOMEONE1", "text": "not yet"}}

    # Again: nothing more to do.
    with desk.sessions.begin() as session:
        again = purge(session, AS_OF, timedelta(days=3))
    assert (again.cases, again.events, again.feedback, again.outbox, again.inbox) == (0,) * 5
    assert reports(desk) == before


def test_open_and_recently_resolved_cases_are_kept(desk: Desk) -> None:
    # Thirty days: nothing was resolved that long before Friday.
    with desk.sessions.begin() as session:
        done = purge(session, AS_OF, timedelta(days=30))
    assert (done.cases, done.events, done.feedback, done.outbox, done.inbox) == (0,) * 5
    with desk.sessions() as session:
        assert sorted(session.execute(select(Case.text)).scalars()) == sorted(
            TEXTS[n] for n in desk.numbers
        )


def test_purge_command(desk: Desk, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    before = run("report", "--since", "2026-01-05", "--until", "2026-01-10", "--format", "json")
    code, out, err = run("purge", "--older-than", "30")
    # Run long after the week: all 7 resolved cases (1, 2, 3, 4, 7, 8, 9) are purged.
    assert (code, err) == (0, "")
    assert re.fullmatch(
        r"purged 7 cases resolved before \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; cleared "
        r"\d+ timeline entries, 2 feedback, \d+ outbox and \d+ inbox rows\n",
        out,
    ), out
    after = run("report", "--since", "2026-01-05", "--until", "2026-01-10", "--format", "json")
    assert (after[0], before[0]) == (0, 0)
    # Both judged now, a moment apart: the same rows.
    assert json.loads(after[1])["rows"] == json.loads(before[1])["rows"]
    assert json.loads(after[1])["rows"][3] == formats.record(EXPECTED[3])
    with desk.sessions() as session:
        resolved = select(Case.text).where(Case.status == "resolved")
        assert set(session.execute(resolved).scalars()) == {""}
    assert run("purge", "--older-than", "-1")[0] == 2


def events(session: Any, case_id: int) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list(session.execute(query).scalars())


# The policy as written, and the escalation chain frozen from it: the people a policy names
# are its configuration, kept as long as the policy is.
POLICY_TEXT = {("policy_snapshots", "content"), ("pages", "plan")}


def test_purge_forgets_who_was_paged_acknowledged_and_covered(paging_bot: Bot) -> None:
    """A paged case keeps people in places the desk above never reaches: the page (who
    acknowledged), its timers' notes ("acknowledged by ..."), and the schedule's overrides."""
    bot = paging_bot
    open_case(bot)
    assert command(bot, "/case", "ack CASE-1", user=PRIMARY, channel=ONCALL)[2] == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]
    assert command(bot, "/case", "resolve CASE-1", user=ENGINEER, channel=SUPPORT)[0] == 200
    with bot.runtime.sessions.begin() as session:
        now = bot.clock.now()
        session.add(
            OncallOverride(
                schedule="platform", user_id=SECOND, starts_at=now - timedelta(days=3),
                ends_at=now - timedelta(days=2), created_by=LEAD, created_at=now,
            )
        )  # fmt: skip
    bot.settle()
    people = (PRIMARY, SECOND, LEAD)

    def mentions() -> list[tuple[str, str]]:
        found = []
        with bot.runtime.sessions() as session:
            for table in schema().sorted_tables:
                for row in session.execute(select(table)).mappings():
                    for column, value in row.items():
                        if (table.name, column) in POLICY_TEXT:
                            continue
                        shown = json.dumps(value) if isinstance(value, dict | list) else value
                        if isinstance(shown, str) and any(p in shown for p in people):
                            found.append((table.name, str(column)))
        return sorted(set(found))

    assert ("timers", "note") in mentions() and ("oncall_overrides", "user_id") in mentions()
    bot.clock.advance(timedelta(days=10))
    with bot.runtime.sessions.begin() as session:
        purge(session, bot.clock.now(), timedelta(days=3))
    left = mentions()
    assert left == [], left
