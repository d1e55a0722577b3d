"""Overrides stored at run time (`/oncall override`): someone covers a schedule for a while.
Paging and handoffs read them with the schedule (`chains.schedule`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.db.models import OncallOverride
from bot.oncall import chains, handoffs
from bot.policies.oncall import ScheduleSpec


def add(
    session: Session,
    team_id: str,
    name: str,
    spec: ScheduleSpec,
    user: str,
    start: datetime,
    end: datetime,
    by: str,
    now: datetime,
) -> None:
    """`user` covers schedule `name` from `start` to `end` in workspace `team_id`; the
    handoff it makes is booked."""
    session.add(
        OncallOverride(
            team_id=team_id,
            schedule=name,
            user_id=user,
            starts_at=start,
            ends_at=end,
            created_by=by,
            created_at=now,
        )
    )
    session.flush()
    handoffs.book_next(session, name, chains.schedule(session, name, spec, now, team_id), now)
