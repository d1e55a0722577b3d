"""`intake`: when a case opens the bot asks, once, for what the team needs, with an "Add
details" button whose form has the policy's fields. A required field left empty is refused
with a modal error; the answers are kept on the case, shown on its card and in `/case show`,
are no response, and `purge` forgets them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.views import View
from sqlalchemy import select

from bot.db.models import Case, CaseEvent
from bot.reports.purge import purge
from bot.slack.views import DETAILS_ACTION
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.cases import open_case
from tests.support.paging import paging_bot_for
from tests.support.slash_commands import run

ASK = "To get started, tell us the business impact and the version you run."
POLICY = f"""
id: intake
name: Intake
default: true
default_severity: sev2
responders: {{users: [{ENGINEER}]}}
intake:
  ask: "{ASK}"
  fields:
    - {{id: impact, label: Business impact, required: true}}
    - {{id: version, label: Version}}
severities:
  - {{id: sev2, name: SEV 2, calendar: 24/7, targets: {{first_response: 1h}}}}
"""
IMPACT = "checkout is down for all EU customers"


def press_add_details(bot: Bot, user: str) -> dict[str, Any]:
    """`user` presses "Add details"; returns the form Slack was asked to open."""
    ask = next(m for m in bot.slack.posted_messages(SUPPORT) if m.text == ASK)
    [button] = [e for b in ask.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    before = len(bot.slack.calls("views.open"))
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=button["action_id"],
            value=button["value"],
            user=user,
            channel=SUPPORT,
            message_ts=ask.ts,
            team=bot.slack.team_id,
        )
    )
    assert resp.status == 200
    [call] = [c for c in bot.slack.wait_for("views.open", before + 1)[before:] if c.ok]
    return call.params["view"]


def submit(bot: Bot, view: dict[str, Any], user: str, answers: dict[str, str]) -> Any:
    values = {
        block["block_id"]: {
            "pick": {
                "type": "plain_text_input",
                "value": answers.get(block["block_id"].split(":", 1)[1]),
            }
        }
        for block in view["blocks"]
    }
    payload = payloads.view_submission(
        view["callback_id"],
        values,
        user=user,
        team=bot.slack.team_id,
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )
    resp = bot.driver.interaction(payload)
    bot.settle()
    return resp


def test_the_ask_the_form_and_the_answers(db_url: str, tmp_path: Path) -> None:
    for bot in paging_bot_for(db_url, tmp_path, POLICY):
        root = open_case(bot)
        bot.settle()
        asks = [m for m in bot.slack.posted_messages(SUPPORT) if m.text == ASK]
        assert [(m.thread_ts, len(m.blocks or [])) for m in asks] == [(root, 2)]
        [button] = [
            e for b in asks[0].blocks or [] if b["type"] == "actions" for e in b["elements"]
        ]
        assert (button["action_id"], button["text"]["text"]) == (DETAILS_ACTION, "Add details")
        [case] = bot.cases()
        card = bot.slack.message(SUPPORT, case.card_ts or "")
        assert card is not None
        marks = [
            e["text"] for b in card.blocks or [] if b["type"] == "context" for e in b["elements"]
        ]
        assert marks == ["Details: impact —, version —"]

        view = press_add_details(bot, CUSTOMER)
        View(**view).validate_json()  # within Slack's limits, as slack-sdk knows them
        assert [(b["label"]["text"], b["optional"]) for b in view["blocks"]] == [
            ("Business impact", False),
            ("Version", True),
        ]
        # The required field left empty: refused under the field, nothing kept.
        resp = submit(bot, view, CUSTOMER, {"version": "4.2"})
        assert resp.json() == {
            "response_action": "errors",
            "errors": {"field:impact": "This one is required."},
        }
        [case] = bot.cases()
        assert case.details is None
        # Answered: kept, on the card and in /case show, and no response.
        resp = submit(bot, view, CUSTOMER, {"impact": IMPACT})
        assert (resp.status, resp.body) == (200, b"")
        [case] = bot.cases()
        assert (case.details, case.first_response_at) == ({"impact": IMPACT}, None)
        card = bot.slack.message(SUPPORT, case.card_ts or "")
        assert card is not None
        marks = [
            e["text"] for b in card.blocks or [] if b["type"] == "context" for e in b["elements"]
        ]
        assert marks == ["Details: impact ✓, version —"]
        [shown] = run(bot, "/case", "show CASE-1")[2]
        assert shown.splitlines()[-1] == f"Details: Business impact: {IMPACT}; Version: —"
        # The form opens again with what was given.
        again = press_add_details(bot, ENGINEER)
        assert again["blocks"][0]["element"]["initial_value"] == IMPACT
        with bot.runtime.sessions() as session:
            kept = session.execute(
                select(CaseEvent.actor, CaseEvent.data).where(CaseEvent.kind == "details")
            ).all()
        assert [(a, d["answers"]) for a, d in kept] == [(CUSTOMER, {"impact": IMPACT})]
        # Resolved and purged: the answers are gone from the case and its timeline.
        assert run(bot, "/case", "resolve CASE-1")[2] == ["CASE-1 is resolved."]
        with bot.runtime.sessions.begin() as session:
            purge(session, bot.clock.now() + timedelta(days=2), timedelta(days=1))
        with bot.runtime.sessions() as session:
            stored = session.execute(select(Case.details)).scalar_one()
            events = session.execute(
                select(CaseEvent.data).where(CaseEvent.kind == "details")
            ).scalars()
            assert (stored, [json.dumps(e) for e in events]) == (None, ["{}"])
        # One ask per case, however often the case changes.
        assert len([m for m in bot.slack.posted_messages(SUPPORT) if m.text == ASK]) == 1


def test_someone_else_of_the_customers_organisation_cannot_fill_them_in(
    db_url: str, tmp_path: Path
) -> None:
    stranger, org = "U0STRANGE9", "T0OTHERORG"
    for bot in paging_bot_for(db_url, tmp_path, POLICY):
        bot.slack.add_user(stranger, "sid", "Sid", team_id=org)
        bot.slack.add_member(SUPPORT, stranger)
        open_case(bot)
        view = press_add_details(bot, stranger)
        submit(bot, view, stranger, {"impact": "nothing works"})
        [case] = bot.cases()
        assert case.details is None
        [notice] = [
            c for c in bot.slack.calls("chat.postEphemeral") if c.params["user"] == stranger
        ]
        assert notice.params["text"] == (
            "Only the requester or the support team can add details to CASE-1."
        )
