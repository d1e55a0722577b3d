"""Publishing a person's App Home (bot/slack/home.py builds it): when they open it, and when
a case of theirs changes. The team's sections are for the support team of some policy; the
cases at risk, for those of them who may see the case's channel."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle, queries, writes
from bot.clock import Clock
from bot.db.models import Case
from bot.inbox import Effects, Row
from bot.oncall import chains
from bot.oncall import text as oncall_text
from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet
from bot.slack import home
from bot.slack.directory import Directory

# App Home's "at risk": the soonest due of this many, in the viewer's channels, are shown.
AT_RISK_POOL, AT_RISK_SHOWN = 200, 15


class HomeUpdates:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        directory: Callable[[str], Directory],
        policies: Callable[[], PolicySet],
        policy_for_case: Callable[[Session, Case], Policy],
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.directory = directory
        # The policies as loaded now: a reload replaces them.
        self.policies = policies
        self.policy_for_case = policy_for_case

    def home(self, row: Row) -> Effects | None:
        """Publish a person's App Home: on `app_home_opened`, and when a case of theirs
        changes."""
        user = str(row.payload.get("user") or "")
        directory = self.directory(row.team_id)
        if not user or not directory.in_workspace(user, row.team_id):
            return None  # another organisation's user has no App Home of ours here
        responder = any(
            directory.is_responder(p.responders.users, p.responders.groups, None, user, row.team_id)
            for p in self.policies()
        )
        # The team's cases at risk, from the channels the viewer may see (a private
        # channel's cases are for its members): read before the transaction, cached.
        visible: frozenset[str] = frozenset()
        if responder:
            with self.sessions() as session:
                at_risk = queries.at_risk(session, row.team_id, self.clock.now(), AT_RISK_POOL)
                channels = {case.channel_id for case in at_risk}
            visible = frozenset(ch for ch in channels if directory.can_see(user, ch))

        def publish(session: Session) -> None:
            now = self.clock.now()

            def shown(cases: list[Case], with_notes: bool = True) -> list[home.HomeCase]:
                # The team's sections show each case's latest internal note.
                kept = lifecycle.notes(session, [c.id for c in cases]) if with_notes else {}
                out = []
                for case in cases:
                    try:
                        policy = self.policy_for_case(session, case)
                    except (LookupError, ValueError):
                        # A case whose policy no longer loads is listed by its severity id;
                        # its timers say why (parked), and the other cases still show.
                        policy = None
                    severity = policy.severity(case.severity) if policy else None
                    out.append(
                        home.HomeCase(
                            case.key,
                            case.permalink,
                            case.channel_id,
                            severity.name if severity else case.severity,
                            case.status,
                            queries.next_due(case),
                            kept[case.id][-1][2] if case.id in kept else None,
                        )
                    )
                return out

            team = row.team_id
            on_call = [
                oncall_text.now_and_next(chains.schedule(session, name, spec, now, team), now)
                for name, spec in sorted(self.policies().schedules(team).items())
            ]
            view = home.home_view(
                now,
                responder,
                shown(queries.assigned_to(session, team, user)),
                shown(queries.requested_by(session, team, user), with_notes=responder),
                shown(
                    [
                        case
                        for case in queries.at_risk(session, team, now, AT_RISK_POOL)
                        if case.channel_id in visible
                    ][:AT_RISK_SHOWN]
                )
                if responder
                else [],
                on_call,
            )
            writes.enqueue(
                session, now, team_id=team, channel_id=user, intent="home_view", view=view
            )

        return publish
