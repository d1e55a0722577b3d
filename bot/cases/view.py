"""A plain view of a case: what renderers read, detached from the ORM and its session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.db.models import Case


@dataclass(frozen=True)
class CaseView:
    id: int
    number: int
    team_id: str
    channel_id: str
    thread_ts: str
    requester_id: str | None
    opened_by: str
    permalink: str | None
    status: str
    severity: str
    opened_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    first_response_by: str | None
    next_response_due: datetime | None
    assignee_id: str | None
    card_ts: str | None
    shared: bool = False
    next_update_due: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"CASE-{self.number}"

    @classmethod
    def of(cls, case: Case) -> CaseView:
        return cls(
            id=case.id,
            number=case.number,
            team_id=case.team_id,
            channel_id=case.channel_id,
            thread_ts=case.thread_ts,
            requester_id=case.requester_id,
            opened_by=case.opened_by,
            permalink=case.permalink,
            status=case.status,
            severity=case.severity,
            opened_at=case.opened_at,
            first_response_due=case.first_response_due,
            first_response_at=case.first_response_at,
            first_response_by=case.first_response_by,
            next_response_due=case.next_response_due,
            next_update_due=case.next_update_due,
            details=dict(case.details or {}),
            assignee_id=case.assignee_id,
            card_ts=case.card_ts,
            shared=bool(case.shared),
        )
