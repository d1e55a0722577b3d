"""`/case ack`: acknowledging a case's page, which the page's Acknowledge button and the
acknowledgement emoji on it are stored as. It works in the case's channel or wherever the
page reached the person (a direct message, the chain's channel)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.cases import lifecycle, permissions
from bot.cases.permissions import Actor
from bot.db.models import Case
from bot.inbox import Effects
from bot.oncall import acks
from bot.oncall import messages as paging_messages
from bot.slack.verbs import Call, does
from bot.words import readable


@does("/case", "ack")
def ack(call: Call) -> Effects | None:
    number = call.case_command.number or 0
    with call.sessions() as session:
        case = lifecycle.by_number(session, call.team, number)
        if case is not None and case.channel_id != call.channel:
            # Like every command about a case: only where the case (here, its page) is.
            case = case if paging_messages.paged_in(session, case, call.channel) else None
        if case is None:
            return call.reply(f"No case CASE-{number} in this channel.")
        policy = call.policy_for_case(session, case)
        users, groups = acks.paged_so_far(session, case)
    # Slack reads next, with no database connection held, and only as many as the rule
    # needs: the people paged by name, then the paged groups' members, then the team.
    user, requester = call.user, case.requester_id
    actor = Actor(
        user,
        paged=lambda: user in users
        or any(user in call.directory().group_members(g) for g in sorted(groups)),
        on_team=lambda: call.on_team(policy, requester),
    )
    decision = permissions.may_acknowledge(case, actor)
    case_id, key = case.id, case.key

    def apply(session: Session) -> None:
        current = session.get(Case, case_id, with_for_update=True)
        assert current is not None
        if decision.refusal is not None:
            text = decision.refusal
        else:
            done = acks.acknowledge(session, current, user, call.clock.now(), call.source)
            took = " and took it" if done.took else ""
            text = {
                "acknowledged": f"You acknowledged the page for {key}{took}: paging has stopped.",
                "no_page": f"{key} has no page to acknowledge.",
                "already": (
                    f"{key} was already acknowledged by <@{done.by}>"
                    + (f" at {readable(done.at)}." if done.at else ".")
                ),
            }[done.outcome]
        call.enqueue_reply(session, text)

    return apply
