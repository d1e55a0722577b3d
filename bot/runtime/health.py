"""What `/readyz` and `/metrics` ask of the process: whether it can do its work (database
reachable and migrated, workspace still installed) and how much is waiting."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db import migrate
from bot.db.models import Case, InboxEvent, OutboxMessage
from bot.db.states import CaseStatus
from bot.outbox import backlog
from bot.slack.workspaces import Workspaces


class Health:
    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        workspaces: Workspaces,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.engine = engine
        self.sessions = sessions
        self.workspaces = workspaces

    def ready(self) -> tuple[bool, str]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if not migrate.is_current(self.engine):
                return False, "database schema is not at the latest migration"
            stopped = self._uninstalled()
        except Exception as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        if stopped:
            return False, stopped
        return True, "ready"

    def _uninstalled(self) -> str | None:
        """Single-workspace mode: why the workspace's work stopped, if it did."""
        who = self.workspaces.identity.known
        if self.workspaces.multi or who is None:
            return None
        why = self.workspaces.uninstalled(who.team_id)
        if why is None:
            return None
        return (
            f"the app was uninstalled from workspace {who.team_id} ({why}): install it again"
            " and configure the new bot token"
        )

    def backlog(self) -> dict[tuple[str, str], int]:
        """Rows per (table, status) in the inbox and outbox: what is waiting or has failed."""
        counts: dict[tuple[str, str], int] = {}
        with self.sessions() as session:
            for name, model in (("inbox", InboxEvent), ("outbox", OutboxMessage)):
                rows = session.execute(
                    select(model.status, func.count()).group_by(model.status)
                ).all()
                counts.update({(name, status): int(n) for status, n in rows})
        return counts

    def oldest_waiting(self) -> dict[str, float]:
        """Seconds the oldest unsent outbox row of each priority has waited."""
        with self.sessions() as session:
            ages = backlog.oldest(session, self.clock.now())
        return {p.label: age for p, age in ages.items()}

    def open_cases(self) -> dict[tuple[str, str], int]:
        """Open cases per (policy, severity)."""
        with self.sessions() as session:
            rows = session.execute(
                select(Case.policy_id, Case.severity, func.count())
                .where(Case.status == CaseStatus.OPEN)
                .group_by(Case.policy_id, Case.severity)
            ).all()
        return {(policy, severity): int(n) for policy, severity, n in rows}
