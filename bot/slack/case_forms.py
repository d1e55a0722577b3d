"""What a case's buttons and forms send, stored as `/case` verbs nobody types: the
requester's rating and its comment, and the intake form's answers."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from bot.cases import lifecycle, permissions
from bot.cases.permissions import Actor
from bot.cases.service import CaseError
from bot.cases.writes import record
from bot.db.models import Case
from bot.inbox import Effects
from bot.policies.policy import Policy
from bot.slack.verbs import Call, on_case


@on_case("rate")
def rate(call: Call, session: Session, case: Case, policy: Policy) -> Effects | None:
    case_id, user, rating = case.id, call.user, call.case_command.level or ""

    def keep_rating(session: Session) -> None:
        current = session.get(Case, case_id, with_for_update=True)
        assert current is not None
        outcome = lifecycle.record_feedback(
            session, call.clock, current, user, rating, call.source
        )
        text = {
            "thanks": f"Thanks for rating {current.key}.",
            "already": f"You have rated {current.key} already: thanks!",
            "not_requester": f"Only the requester can rate {current.key}.",
        }[outcome]
        # The comment modal was opened by the listener (bot/slack/modals.py).
        call.enqueue_reply(session, text)

    return keep_rating


@on_case("comment")
def comment(call: Call, session: Session, case: Case, policy: Policy) -> Effects | None:
    case_id, user, words = case.id, call.user, call.case_command.note

    def keep(session: Session) -> None:
        current = session.get(Case, case_id, with_for_update=True)
        if current is not None and lifecycle.comment_feedback(session, current, user, words):
            record(session, current, call.clock.now(), user, "feedback_comment")

    return keep


@on_case("details")
def details(call: Call, session: Session, case: Case, policy: Policy) -> Effects | None:
    """The intake form's answers, from whoever `permissions.may_add_details` allows."""
    try:
        found = json.loads(call.case_command.note)
    except ValueError:
        found = None
    answers = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    session.close()  # Slack reads next, with no database connection held
    # The requester needs no directory read; anyone else must be on the support team.
    actor = Actor(call.user, on_team=lambda: call.on_team(policy, case.requester_id))
    decision = permissions.may_add_details(case, actor)
    case_id, key = case.id, case.key

    def apply(session: Session) -> None:
        current = session.get(Case, case_id, with_for_update=True)
        assert current is not None
        try:
            if decision.refusal is not None:
                raise CaseError(decision.refusal)
            lifecycle.add_details(
                session, call.clock, policy, current, call.user, answers, call.source
            )
            text = f"Thanks: the details of {key} are saved."
        except CaseError as exc:
            text = str(exc)
        call.enqueue_reply(session, text)

    return apply
