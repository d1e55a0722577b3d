"""`/case note`: the team keeps a note on a case that only the installing organisation's
members see (in `/case show`, their App Home, the timeline). In a channel shared with the
customer it never reaches a thread, a card, an ephemeral message or an external user."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import CaseEvent
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support.app_home import open_home
from tests.support.cases import OTHER_ORG, OUTSIDER, say, shared_case
from tests.support.slash_commands import run

NOTE = "customer runs 4.2 which is out of support; do not promise a fix date"


def test_a_note_stays_with_the_team_in_a_shared_channel(bot: Bot) -> None:
    root = shared_case(bot)  # OUTSIDER of the customer's organisation raised it
    bot.slack.add_member(SUPPORT, OUTSIDER)
    assert run(bot, "/case", f"note CASE-1 {NOTE}")[2] == [
        "Noted on CASE-1, for your team only: it shows in `/case show CASE-1`."
    ]
    # The customer cannot keep notes, and their /case show leaves the team's notes out.
    assert run(bot, "/case", "note CASE-1 please hurry", user=OUTSIDER)[2] == [
        "Only the support team can note CASE-1."
    ]
    [outside] = run(bot, "/case", "show CASE-1", user=OUTSIDER)[2]
    [inside] = run(bot, "/case", "show CASE-1")[2]
    assert inside == outside + (
        f"\nNotes (your team only):\n• <@{ENGINEER}> Mon 05 Jan 2026 09:00 UTC: {NOTE}"
    )
    assert "Notes" not in outside
    # The rest of the case's life in the shared channel: a reply, a take, a wait, a resolve.
    bot.clock.advance(timedelta(minutes=5))
    assert say(bot, ENGINEER, "looking into it", root) == 200
    assert run(bot, "/case", "take CASE-1")[2] == ["You have CASE-1."]
    home = json.dumps(open_home(bot, ENGINEER))
    assert f"_Note: {NOTE}_" in home
    assert run(bot, "/case", "wait CASE-1 asked for the build number")[2][0].startswith("CASE-1")
    assert say(bot, OUTSIDER, "build 4.2.7", root, user_team=OTHER_ORG) == 200
    assert run(bot, "/case", "resolve CASE-1 upgrade to 4.3")[2] == ["CASE-1 is resolved."]
    bot.settle()
    # Every message to Slack, whole: the note is in none of them but the team member's
    # own App Home.
    leaked = [
        (c.method, c.params.get("channel") or c.params.get("user_id"))
        for c in bot.slack.calls()
        if NOTE in json.dumps(c.params) and c.method not in ("views.publish", "response_url")
    ]
    assert leaked == []
    published = [
        c.params["user_id"]
        for c in bot.slack.calls("views.publish")
        if NOTE in json.dumps(c.params)
    ]
    assert set(published) == {ENGINEER}
    # Private answers through response URLs: only the team member's own /case show.
    assert [r["text"] for r in bot.slack.responses() if NOTE in r["text"]] == [inside]
    # The timeline keeps it.
    with bot.runtime.sessions() as session:
        kept = session.execute(
            select(CaseEvent.actor, CaseEvent.data).where(CaseEvent.kind == "note")
        ).all()
    assert [(actor, data["note"]) for actor, data in kept] == [(ENGINEER, NOTE)]


def test_a_note_needs_text(bot: Bot) -> None:
    shared_case(bot)
    status, ack, _ = run(bot, "/case", "note CASE-1")
    assert (status, ack) == (
        200,
        {"response_type": "ephemeral", "text": "What note? Usage: `/case note CASE-n TEXT`."},
    )
