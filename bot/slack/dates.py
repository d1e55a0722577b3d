"""Instants as Slack shows them: in each reader's own time zone, the fallback in the zone of
the severity's calendar; and the first-response line the card and `/case` answers share."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from bot.cases.view import CaseView
from bot.policies.policy import Policy
from bot.words import readable, span


def slack_date(instant: datetime, tz: tzinfo = UTC) -> str:
    """A date Slack shows in each reader's own time zone; the fallback names the policy's."""
    fallback = readable(instant, tz)
    return f"<!date^{int(instant.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def zone(policy: Policy, severity: str) -> tzinfo:
    """The zone of the severity's business calendar; UTC for one open around the clock."""
    tz = getattr(policy.calendar_for(severity), "tz", None)
    return tz if isinstance(tz, tzinfo) else UTC


def first_response(case: CaseView, policy: Policy, now: datetime | None = None) -> str:
    """The card's first-response line: when it is due, or when it was met, by whom and
    against its due time, or that it was missed."""
    tz = zone(policy, case.severity)
    due = case.first_response_due
    if case.first_response_at is not None:
        who = f" by <@{case.first_response_by}>" if case.first_response_by else ""
        met = f"met {slack_date(case.first_response_at, tz)}{who}"
        if due is None:
            return met
        if case.first_response_at < due:
            return f"{met}, {span(due - case.first_response_at)} before the target"
        return f"{met}, {span(case.first_response_at - due)} after the target (missed)"
    if due is None:
        return "no first-response target"
    if now is not None and now >= due:
        return f"missed: was due {slack_date(due, tz)}"
    return f"due {slack_date(due, tz)}"
