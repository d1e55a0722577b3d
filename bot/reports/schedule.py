"""The weekly post as a timer about no case ("weekly_report"), booked under a unique key
so replicas book and fire it once; firing one writes the post to the outbox and books the
next week's."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases.writes import enqueue
from bot.db.models import Timer
from bot.db.ops import insert_ignore
from bot.db.states import TimerKind, TimerStatus
from bot.policies.policy import Policy
from bot.reports.figures import By
from bot.reports.weekly import next_monday_morning, weekly_post
from bot.timers.registry import Caseless, handles

WEEKLY = TimerKind.WEEKLY_REPORT


def book_next(session: Session, after: datetime, policy: Policy | None = None) -> None:
    """Next Monday's report: REPORT_CHANNEL's of every policy, or `policy`'s own."""
    at = next_monday_morning(after)
    insert_ignore(
        session,
        Timer.__table__,
        {
            "case_id": None,
            "kind": WEEKLY,
            "target": "report",
            "key": f"weekly:{policy.id}:{at.isoformat()}" if policy else f"weekly:{at.isoformat()}",
            "policy_id": policy.id if policy else None,
            "due_at": at,
            "status": TimerStatus.PENDING,
        },
    )


def fire(
    session: Session,
    channel: str,
    timer: Timer,
    now: datetime,
    by: By = "policy",
    policy: Policy | None = None,
) -> str | None:
    """Write the week ending at the timer's instant to the outbox, for `channel`: its rows
    per policy and severity, or per policy and channel (`by`); only `policy`'s when given,
    posted in its workspace."""
    book_next(session, timer.due_at, policy)
    post = weekly_post(session, timer.due_at, policy.id if policy else None, by=by)
    enqueue(
        session,
        now,
        team_id=policy.workspaces[0] if policy and policy.workspaces else "",
        channel_id=channel,
        intent=WEEKLY,
        dedupe_key=f"timer:{timer.id}:weekly",
        text=post.text,
        png=base64.b64encode(post.png).decode(),
        filename=post.filename,
        title=post.title,
        alt_text=post.alt_text,
    )
    return None


@handles(WEEKLY, caseless=True)
def fire_weekly(c: Caseless) -> str | None:
    if c.timer.policy_id is not None:
        policy = c.setup.policies.get(c.timer.policy_id) if c.setup.policies else None
        if policy is None or not policy.report_channel:
            return f"policy '{c.timer.policy_id}' has no report_channel any more"
        return fire(c.session, policy.report_channel, c.timer, c.now, c.setup.report_by, policy)
    if not c.setup.report_channel:
        return "REPORT_CHANNEL is not set any more"
    return fire(c.session, c.setup.report_channel, c.timer, c.now, c.setup.report_by)
