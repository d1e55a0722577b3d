"""`/severity` and `/case`: the listener checks the text and acks at once (a usage message
for text it cannot parse, so nothing half-changes), stores a valid command in the inbox, and
the handler here works it after the ack and answers privately through the response URL."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle, service
from bot.cases.commands import (
    CASE_USAGE,
    SEVERITY_USAGE,
    Command,
    UsageError,
    parse_case,
    parse_severity,
)
from bot.cases.view import CaseView
from bot.clock import Clock
from bot.db.models import Case
from bot.inbox import Effects, InboundRequest, Row
from bot.oncall import acks, overrides, paging
from bot.oncall import messages as paging_messages
from bot.oncall import text as oncall_text
from bot.oncall.commands import ONCALL_USAGE, OncallCommand, parse_oncall
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.slack import guard, views
from bot.slack.directory import Directory
from bot.slack.modals import Modals
from bot.slack.page_intents import PAGE_ACK_ACTION
from bot.slack.render import (
    CASE_ACTION,
    FEEDBACK_ACTION,
    RATINGS,
    SET_SEVERITY_ACTION,
    first_response,
    readable,
)
from bot.slack.surface import COMMANDS
from bot.slack.teams import installation_team

log = logging.getLogger(__name__)


def parse(name: str, text: str) -> Command | OncallCommand:
    if name == "/oncall":
        return parse_oncall(text)
    return parse_severity(text) if name == "/severity" else parse_case(text)


def command_row(
    team: str,
    user: str,
    channel: str,
    command: str,
    text: str,
    key: str,
    response_url: object = None,
    trigger_id: object = None,
) -> InboundRequest:
    """The inbox row of a command, however it came: typed, a button, a modal."""
    return InboundRequest(
        kind="command",
        team_id=team,
        dedupe_key=key,
        payload=guard.storable(
            {
                "command": command,
                "text": text,
                "user_id": user,
                "channel_id": channel,
                "response_url": response_url if isinstance(response_url, str) else None,
                "trigger_id": trigger_id if isinstance(trigger_id, str) else None,
            }
        ),
    )


def _actor(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The workspace and user of an interaction (button press, modal submission)."""
    user = body.get("user") or {}
    return guard.slack_id(installation_team(body)), guard.slack_id(user.get("id"))


def _action_channel(body: dict[str, Any]) -> str | None:
    where = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return guard.slack_id(where)


def _view_meta(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def register(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    def open_modal(body: dict[str, Any]) -> None:
        # Runs after the ack has gone (a lazy listener): the modal, if the command needs
        # one, within the trigger's 3 seconds.
        if modals is not None and body.get("command") == "/severity":
            modals.severity(body)

    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        name, text = str(body.get("command")), body.get("text")
        try:
            command = parse(name, text if isinstance(text, str) else "")
        except UsageError as exc:
            ack(response_type="ephemeral", text=str(exc))
            return
        if command.verb == "help":
            usage = ONCALL_USAGE if isinstance(command, OncallCommand) else CASE_USAGE
            ack(response_type="ephemeral", text=usage)
            return
        team, user = guard.slack_id(body.get("team_id")), guard.slack_id(body.get("user_id"))
        channel = guard.slack_id(body.get("channel_id"))
        if not (team and user and channel):
            ack(response_type="ephemeral", text="This command is missing its channel or user.")
            return
        trigger = body.get("trigger_id")
        key = guard.key("command", team, user, str(trigger or text))
        store(
            command_row(
                team, user, channel, name, str(text or ""), key, body.get("response_url"), trigger
            )
        )
        ack()

    app.command(re.compile(f"^({'|'.join(re.escape(c) for c in COMMANDS)})$"))(
        ack=on_command, lazy=[open_modal]
    )

    @app.view(views.SEVERITY_MODAL)
    def on_severity_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values, errors = views.submitted(view)
        if errors:
            ack(response_action="errors", errors=errors)  # shown under the fields
            return
        ack()
        team, user = _actor(body)
        channel = guard.slack_id(_view_meta(view).get("channel"))
        if not (team and user and channel):
            return
        text = " ".join(
            part
            for part in (
                f"CASE-{values[views.CASE_BLOCK]}",
                values[views.LEVEL_BLOCK],
                values[views.REASON_BLOCK],
            )
            if part
        )
        key = guard.key("modal", team, user, str(view.get("id") or text))
        store(command_row(team, user, channel, "/severity", text, key))


def register_buttons(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The card's Take, Waiting on requester, Resume and Resolve buttons: stored as the
    `/case` command they stand for, so both take one path."""

    @app.action(re.compile(rf"^{CASE_ACTION}:"))
    def on_case_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = _actor(body)
        channel = _action_channel(body)
        value = action.get("value")
        number, _, verb = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not (team and user and channel) or guard.small_number(number) is None:
            return
        if verb not in ("take", "wait", "resume", "resolve"):
            return
        stamp = str(action.get("action_ts") or body.get("trigger_id") or "")
        key = guard.key("button", team, user, stamp, str(action.get("action_id")))
        text = f"{verb} CASE-{int(number)}"
        store(command_row(team, user, channel, "/case", text, key, body.get("response_url")))


def register_severity_buttons(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The card's severity buttons: stored as a severity change of the case they name."""

    @app.action(re.compile(rf"^{SET_SEVERITY_ACTION}:"))
    def on_set_severity(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = _actor(body)
        channel = _action_channel(body)
        value = action.get("value")
        case_id, _, severity = value.partition(":") if isinstance(value, str) else ("", "", "")
        number, level = guard.small_number(case_id), guard.name(severity)
        if not (team and user and channel and number is not None and level):
            log.warning(
                "ignored a severity button from Slack: "
                "team, user, channel or value missing or malformed"
            )
            return
        action_ts = action.get("action_ts") or body.get("trigger_id") or ""
        external = (guard.user_team(body.get("user") or {}) or team) != team
        store(
            InboundRequest(
                kind="set_severity",
                team_id=team,
                dedupe_key=guard.key(
                    "action", team, user, str(action_ts), str(action.get("action_id"))
                ),
                payload=guard.storable(
                    {
                        "case_id": str(number),
                        "severity": level,
                        "user_id": user,
                        "channel_id": channel,
                        "external": external,
                        "source": f"action:{action_ts}",
                    }
                ),
            )
        )


def register_page_ack(app: App, store: Callable[[InboundRequest], None]) -> None:
    """The Acknowledge button on a page: stored as the `/case ack` it stands for."""

    @app.action(PAGE_ACK_ACTION)
    def on_page_ack(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = _actor(body)
        channel = _action_channel(body)
        value = action.get("value")
        number = guard.small_number(value.partition(":")[0]) if isinstance(value, str) else None
        if not (team and user and channel) or number is None:
            return
        stamp = str(action.get("action_ts") or body.get("trigger_id") or "")
        key = guard.key("button", team, user, stamp, PAGE_ACK_ACTION)
        text = f"ack CASE-{number}"
        store(command_row(team, user, channel, "/case", text, key, body.get("response_url")))


def register_feedback(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    """The rating buttons under a resolution summary: stored as a `/case rate` of the
    requester, worked like any command (so only the requester's first rating counts)."""

    def comment_modal(body: dict[str, Any], action: dict[str, Any]) -> None:
        # After the ack: the optional comment, within the trigger's 3 seconds.
        team, user = _actor(body)
        channel = _action_channel(body)
        value = action.get("value")
        number = guard.small_number(value.partition(":")[0]) if isinstance(value, str) else None
        if modals is not None and team and user and channel and number is not None:
            modals.feedback(team, user, channel, number, body)

    def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        team, user = _actor(body)
        channel = _action_channel(body)
        value = action.get("value")
        number, _, rating = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not (team and user and channel) or guard.small_number(number) is None:
            return
        if rating not in RATINGS:
            return
        trigger = body.get("trigger_id")
        key = guard.key("rate", team, user, str(action.get("action_ts") or trigger or ""))
        text = f"rate CASE-{int(number)} {rating}"
        store(
            command_row(team, user, channel, "/case", text, key, body.get("response_url"), trigger)
        )

    app.action(re.compile(rf"^{FEEDBACK_ACTION}:"))(ack=on_feedback, lazy=[comment_modal])


def register_feedback_comment(app: App, store: Callable[[InboundRequest], None]) -> None:
    @app.view(views.FEEDBACK_MODAL)
    def on_comment(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        comment = views.comment_of(view)
        team, user = _actor(body)
        meta = _view_meta(view)
        channel = guard.slack_id(meta.get("channel"))
        number = meta.get("case")
        if not (comment and team and user and channel and isinstance(number, int)):
            return
        key = guard.key("comment", team, user, str(view.get("id") or number))
        store(command_row(team, user, channel, "/case", f"comment CASE-{number} {comment}", key))


def register_details(
    app: App, store: Callable[[InboundRequest], None], modals: Modals | None = None
) -> None:
    """The "Add details" button under a case's intake ask opens its form (after the ack,
    within the trigger's 3 seconds); the form's answers are stored as a `/case details`
    of whoever sent them, worked like any command."""

    def details_modal(body: dict[str, Any], action: dict[str, Any]) -> None:
        team, user = _actor(body)
        channel = _action_channel(body)
        number = guard.small_number(str(action.get("value") or ""))
        if modals is not None and team and user and channel and number is not None:
            modals.details(team, channel, number, body)

    def on_details(ack: Ack) -> None:
        ack()

    app.action(views.DETAILS_ACTION)(ack=on_details, lazy=[details_modal])

    @app.view(views.DETAILS_MODAL)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        answers, errors = views.details_of(view)
        if errors:
            ack(response_action="errors", errors=errors)  # shown under the fields
            return
        ack()
        team, user = _actor(body)
        meta = _view_meta(view)
        channel = guard.slack_id(meta.get("channel"))
        number = meta.get("case")
        if not (team and user and channel and isinstance(number, int)):
            return
        key = guard.key("details", team, user, str(view.get("id") or number))
        text = f"details CASE-{number} {json.dumps(answers, sort_keys=True)}"
        store(command_row(team, user, channel, "/case", text, key))


class CommandIntake:
    """Works a stored command: its reads (who is a responder) first, then the change and
    its private answer in one transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        directory: Directory | Callable[[str], Directory],
        policy_for_case: Callable[[Session, Case], Policy],
        policies: PolicySet | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        # Each workspace's directory (multi-workspace mode), or the one directory.
        self.directory_for: Callable[[str], Directory] = (
            (lambda team: directory) if isinstance(directory, Directory) else directory
        )
        self.policy_for_case = policy_for_case
        self.policies = policies or PolicySet([])

    def handle(self, row: Row) -> Effects | None:
        p = row.payload
        user, channel = str(p["user_id"]), str(p["channel_id"])
        command = parse(str(p["command"]), str(p.get("text") or ""))
        source = f"command:{row.id}"
        if isinstance(command, OncallCommand):
            return self._oncall(row, user, command)
        with self.sessions() as session:
            if command.verb == "list":
                text = self._list(session, row.team_id, channel, command.all)
                return self._reply(row, text)
            if command.verb == "severity" and command.number is None:
                choices = lifecycle.unresolved_in_channel(session, row.team_id, channel)
                if command.level is None or len(choices) > 1:
                    if not choices:
                        return self._reply(row, "No open case in this channel.")
                    if not row.payload.get("trigger_id"):
                        return self._reply(row, SEVERITY_USAGE)
                    return None  # the listener opened the modal (bot/slack/modals.py)
            if command.verb == "ack":
                return self._ack(session, row, user, command.number or 0, source)
            case, problem = self._target(session, row.team_id, channel, command)
            if case is None:
                return self._reply(row, problem)
            policy = self.policy_for_case(session, case)
            if command.verb == "show":
                text = self._show(case, policy)
                kept = lifecycle.notes(session, [case.id]).get(case.id, [])
                session.close()  # Slack reads next, with no database connection held
                # Internal notes are for the installing organisation's members only.
                if kept and self.directory_for(row.team_id).in_workspace(user, row.team_id):
                    text += "\n" + _notes_text(kept)
                return self._reply(row, text)
            if command.verb == "rate":
                return self._rate(row, case.id, user, command.level or "", source)
            if command.verb == "comment":
                return self._comment(case.id, user, command.note)
            if command.verb == "details":
                return self._details(row, case, policy, user, command.note, source)
        responders = policy.responders
        is_responder = self.directory_for(row.team_id).is_responder(
            responders.users, responders.groups, case.requester_id, user, row.team_id
        )
        case_id = case.id

        def apply(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            assert current is not None
            try:
                text = self._apply(session, policy, current, command, user, is_responder, source)
            except service.CaseError as exc:
                text = str(exc)
            self._enqueue_reply(session, row, text)

        return apply

    # -- the changes ----------------------------------------------------------------------

    def _apply(
        self,
        session: Session,
        policy: Policy,
        case: Case,
        command: Command,
        user: str,
        is_responder: bool,
        source: str,
    ) -> str:
        if command.verb == "severity":
            refusal = service.severity_refusal(
                policy, case, user, is_responder, command.level or None
            )
            if refusal is not None:
                return refusal
            level = command.level or ""
            changed = service.set_severity(
                session, self.clock, policy, case, level, user, source, command.note
            )
            if not changed:
                return f"{case.key} is already {_severity_name(policy, case.severity)}."
            return f"{case.key} is now {_severity_name(policy, case.severity)}."
        if not is_responder:
            return f"Only the support team can {command.verb} {case.key}."
        if command.verb == "note":
            lifecycle.add_note(session, self.clock, case, user, command.note, source)
            return f"Noted on {case.key}, for your team only: it shows in `/case show {case.key}`."
        if command.verb == "take":
            if case.status != lifecycle.RESOLVED and case.assignee_id is None:
                # Taking a paged case answers its page: the climb stops, as an ack would.
                done = acks.acknowledge(session, case, user, self.clock.now(), source)
                if done.outcome == "acknowledged":
                    return f"You have {case.key}; its page is acknowledged: paging has stopped."
            changed = lifecycle.assign(session, self.clock, case, user, user, source)
            return f"You have {case.key}." if changed else f"You already have {case.key}."
        if command.verb == "assign":
            assignee = command.user or ""
            changed = lifecycle.assign(session, self.clock, case, user, assignee, source)
            who = f"<@{assignee}>"
            return f"{case.key} is assigned to {who}." if changed else f"{who} already has it."
        if command.verb == "wait":
            asks = bool(command.note) and not case.shared
            if asks and case.status != "waiting" and case.first_response_at is None:
                # The thread line asks the requester on the responder's behalf: an answer,
                # so it is the first response. A bare wait only stops the clocks, and in a
                # shared channel the note stays internal, so the requester is asked nothing.
                service.record_message(
                    session, self.clock, policy, case, user, "responder", "", source
                )
            if lifecycle.wait(session, self.clock, policy, case, user, command.note, source):
                return f"{case.key} is waiting on the requester; its clocks are stopped."
            return f"{case.key} is already waiting on the requester."
        if command.verb == "resume":
            if lifecycle.resume(session, self.clock, policy, case, user, source):
                return f"{case.key} is open again; its clocks run."
            return f"{case.key} is not waiting on the requester."
        if command.verb == "workaround":
            lowered = lifecycle.workaround(
                session, self.clock, policy, case, user, command.note, source
            )
            return f"{case.key} is now {_severity_name(policy, lowered)} (workaround)."
        if command.verb == "reopen":
            if lifecycle.reopen(session, self.clock, policy, case, user, source):
                return f"{case.key} is open again."
            return f"{case.key} is not resolved."
        if command.verb == "resolve":
            if lifecycle.resolve(session, self.clock, policy, case, user, command.note, source):
                return f"{case.key} is resolved."
            return f"{case.key} is already resolved."
        raise service.CaseError(f"`{command.verb}` is not a command I know.")

    def _ack(self, session: Session, row: Row, user: str, number: int, source: str) -> Effects:
        """Acknowledge a case's page in its channel or where the page reached the person (a
        direct message, the chain's channel): allowed for those it paged and responders."""
        case = lifecycle.by_number(session, row.team_id, number)
        channel = str(row.payload["channel_id"])
        if case is not None and case.channel_id != channel:
            # Like every command about a case: only where the case (here, its page) is.
            case = case if paging_messages.paged_in(session, case, channel) else None
        if case is None:
            return self._reply(row, f"No case CASE-{number} in this channel.")
        policy = self.policy_for_case(session, case)
        users, groups = acks.paged_so_far(session, case)
        case_id, key = case.id, case.key
        session.close()  # Slack reads next, with no database connection held
        responders = policy.responders
        allowed = (
            user in users
            or any(user in self.directory_for(row.team_id).group_members(g) for g in sorted(groups))
            or self.directory_for(row.team_id).is_responder(
                responders.users, responders.groups, case.requester_id, user, row.team_id
            )
        )

        def apply(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            assert current is not None
            if not allowed:
                text = (
                    f"You cannot acknowledge {key}: you were not paged for it and are not "
                    "on its support team."
                )
            else:
                done = acks.acknowledge(session, current, user, self.clock.now(), source)
                took = " and took it" if done.took else ""
                text = {
                    "acknowledged": (
                        f"You acknowledged the page for {key}{took}: paging has stopped."
                    ),
                    "no_page": f"{key} has no page to acknowledge.",
                    "already": (
                        f"{key} was already acknowledged by <@{done.by}>"
                        + (f" at {readable(done.at)}." if done.at else ".")
                    ),
                }[done.outcome]
            self._enqueue_reply(session, row, text)

        return apply

    def _oncall(self, row: Row, user: str, command: OncallCommand) -> Effects:
        now = self.clock.now()
        specs = self.policies.schedules()
        if not specs:
            return self._reply(row, "No policy has an on-call schedule.")
        if command.verb == "who":
            with self.sessions() as session:
                lines = [
                    oncall_text.now_and_next(paging.schedule(session, n, specs[n], now), now)
                    for n in sorted(specs)
                ]
            return self._reply(row, "\n".join(lines))
        name = command.schedule
        if name is None and len(specs) == 1:
            name = next(iter(specs))
        if name is None or name not in specs:
            known = ", ".join(f"`{n}`" for n in sorted(specs))
            asked = f"No schedule `{name}`" if name else "Which schedule?"
            return self._reply(row, f"{asked}: the schedules are {known}.")
        if command.verb == "week":
            with self.sessions() as session:
                text = oncall_text.week(paging.schedule(session, name, specs[name], now), now)
            return self._reply(row, text)
        responders = self.policies.owner_of_schedule(name).responders
        if not self.directory_for(row.team_id).is_responder(
            responders.users, responders.groups, None, user, row.team_id
        ):
            return self._reply(row, "Only the support team can set on-call overrides.")
        built = specs[name].build(name)
        assert command.start is not None and command.end is not None and command.user
        start, end = built.instant(command.start), built.instant(command.end)
        if end <= now:
            return self._reply(row, "That override has already ended: give a time to come.")
        covering, schedule_name = command.user, name

        def store(session: Session) -> None:
            overrides.add(
                session, schedule_name, specs[schedule_name], covering, start, end, user, now
            )
            text = (
                f"<@{covering}> covers *{schedule_name}* from "
                f"{readable(start, built.tz)} to {readable(end, built.tz)}."
            )
            self._enqueue_reply(session, row, text)

        return store

    def _rate(self, row: Row, case_id: int, user: str, rating: str, source: str) -> Effects:
        def rate(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            assert current is not None
            outcome = lifecycle.record_feedback(session, self.clock, current, user, rating, source)
            text = {
                "thanks": f"Thanks for rating {current.key}.",
                "already": f"You have rated {current.key} already: thanks!",
                "not_requester": f"Only the requester can rate {current.key}.",
            }[outcome]
            # The comment modal was opened by the listener (bot/slack/modals.py).
            self._enqueue_reply(session, row, text)

        return rate

    def _comment(self, case_id: int, user: str, comment: str) -> Effects:
        def keep(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            if current is not None and lifecycle.comment_feedback(session, current, user, comment):
                service.record(session, current, self.clock.now(), user, "feedback_comment")

        return keep

    # -- answers --------------------------------------------------------------------------

    def _target(
        self, session: Session, team: str, channel: str, command: Command
    ) -> tuple[Case | None, str]:
        if command.number is not None:
            found = lifecycle.in_channel(session, team, channel, command.number)
            return found, f"No case CASE-{command.number} in this channel."
        open_cases = lifecycle.unresolved_in_channel(session, team, channel)
        if len(open_cases) == 1:
            return open_cases[0], ""
        if not open_cases:
            return None, "No open case in this channel."
        keys = ", ".join(c.key for c in open_cases[:10])
        return None, (
            f"This channel has {len(open_cases)} open cases ({keys}): name one, e.g. "
            f"`/severity {open_cases[0].key} {command.level}`."
        )

    def _list(self, session: Session, team: str, channel: str, everything: bool) -> str:
        cases = lifecycle.listed(session, team, channel, everything)
        if not cases:
            return "No cases in this channel." if everything else "No open cases in this channel."
        lines = []
        for case in cases:
            policy = self.policy_for_case(session, case)
            lines.append(
                f"*{case.key}* {_severity_name(policy, case.severity)}, {case.status}"
                + (f", assigned to <@{case.assignee_id}>" if case.assignee_id else "")
                + f": first response {first_response(CaseView.of(case), policy, self.clock.now())}"
            )
        return "\n".join(lines)

    def _details(
        self, row: Row, case: Case, policy: Policy, user: str, sent: str, source: str
    ) -> Effects:
        """The intake form's answers: from the case's requester (of whichever organisation)
        or the support team."""
        try:
            found = json.loads(sent)
        except ValueError:
            found = None
        answers = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
        responders = policy.responders
        # The requester needs no directory read; anyone else must be on the support team.
        is_responder = user != case.requester_id and self.directory_for(row.team_id).is_responder(
            responders.users, responders.groups, case.requester_id, user, row.team_id
        )
        case_id, key = case.id, case.key

        def apply(session: Session) -> None:
            current = session.get(Case, case_id, with_for_update=True)
            assert current is not None
            try:
                lifecycle.add_details(
                    session, self.clock, policy, current, user, answers, is_responder, source
                )
                text = f"Thanks: the details of {key} are saved."
            except service.CaseError as exc:
                text = str(exc)
            self._enqueue_reply(session, row, text)

        return apply

    def _show(self, case: Case, policy: Policy) -> str:
        link = f"<{case.permalink}|{case.key}>" if case.permalink else case.key
        lines = [
            f"*{link}*: {_severity_name(policy, case.severity)}, {case.status}",
            f"Requester: <@{case.requester_id}>" if case.requester_id else "Requester: unknown",
            f"Assigned to: <@{case.assignee_id}>" if case.assignee_id else "Assigned to: nobody",
            f"First response: {first_response(CaseView.of(case), policy, self.clock.now())}",
        ]
        intake = policy.intake_for(case.severity) if policy.severity(case.severity) else None
        if intake and intake.fields:
            given = case.details or {}
            lines.append(
                "Details: "
                + "; ".join(f"{f.label}: {given.get(f.id) or '—'}" for f in intake.fields)
            )
        return "\n".join(lines)

    def _reply(self, row: Row, text: str) -> Effects:
        def reply(session: Session) -> None:
            self._enqueue_reply(session, row, text)

        return reply

    def _enqueue_reply(self, session: Session, row: Row, text: str) -> None:
        p = row.payload
        service.enqueue(
            session,
            self.clock.now(),
            team_id=row.team_id,
            channel_id=str(p["channel_id"]),
            intent="command_reply",
            dedupe_key=f"reply:{row.id}",
            user=str(p["user_id"]),
            response_url=p.get("response_url"),
            text=text,
        )


def _notes_text(kept: list[tuple[datetime, str, str]]) -> str:
    lines = [f"• <@{who}> {readable(at)}: {text}" for at, who, text in kept]
    return "Notes (your team only):\n" + "\n".join(lines)


def _severity_name(policy: Policy, severity: str) -> str:
    found = policy.severity(severity)
    return found.name if found else severity
