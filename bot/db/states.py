"""The values the status and kind columns hold. Each is a `StrEnum` whose values are the
strings already stored, so rows written before these existed read back unchanged, and a
member compares equal to the string in a row."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    OPEN = "open"
    WAITING = "waiting"  # on the requester: the response clocks are paused
    RESOLVED = "resolved"


# Statuses of a case still being worked.
UNRESOLVED = (CaseStatus.OPEN, CaseStatus.WAITING)


class CaseEventKind(StrEnum):
    """The entries of a case's timeline (`case_events.kind`)."""

    OPENED = "opened"
    REACTED_AGAIN = "reacted_again"
    SEVERITY_CHANGED = "severity_changed"
    REQUESTER_MESSAGE = "requester_message"
    RESPONDER_REPLY = "responder_reply"
    EXTERNAL_MESSAGE = "external_message"  # someone neither side counts as either
    WAITING_ON_REQUESTER = "waiting_on_requester"
    RESUMED = "resumed"
    ASSIGNED = "assigned"
    WORKAROUND = "workaround"
    DETAILS = "details"
    NOTE = "note"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    FEEDBACK = "feedback"
    FEEDBACK_COMMENT = "feedback_comment"
    SLA_REMINDER = "sla_reminder"
    BREACH_ALERT = "breach_alert"
    TIMER_DROPPED = "timer_dropped"
    PAGE_STARTED = "page_started"
    PAGED = "paged"
    PAGE_ACKNOWLEDGED = "page_acknowledged"
    REPAGED = "repaged"
    PAGE_STOPPED = "page_stopped"


class InboxKind(StrEnum):
    """What a stored request from Slack is (`inbox_events.kind`): the handler it goes to."""

    REACTION_ADDED = "reaction_added"  # the trigger emoji: open a case
    PAGE_REACTION = "page_reaction"  # the acknowledgement emoji on a page
    THREAD_MESSAGE = "thread_message"
    SET_SEVERITY = "set_severity"  # a severity button
    COMMAND = "command"  # a slash command, or a button or form that works as one
    HOME = "home"  # publish someone's App Home
    READ_MESSAGE = "read_message"  # read a case's text once Slack allows
    UNINSTALLED = "uninstalled"


class InboxStatus(StrEnum):
    """A stored request from Slack."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # gave up after its attempts
    PARKED = "parked"  # a failure that no retry mends


class OutboxStatus(StrEnum):
    """A Web API write (or webhook call) still to make, or how it went."""

    PENDING = "pending"
    SENDING = "sending"  # leased by a process; it goes back to pending if that one dies
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to send any more, with the reason in the row


# Rows not yet finished with: a purge keeps them, delivery still owes them.
IN_FLIGHT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"  # the plan no longer wants it (it may come back to pending)
    DROPPED = "dropped"  # stale when it came due, with the reason in `note`
    PARKED = "parked"  # failed in a way no retry mends, with the reason in `note`


class TimerKind(StrEnum):
    REMINDER = "reminder"
    BREACH = "breach"
    PAGE_STEP = "page_step"
    REPAGE = "repage"
    AUTO_RESOLVE = "auto_resolve"
    HANDOFF = "handoff"  # about no one case: a schedule's shift changes
    WEEKLY_REPORT = "weekly_report"  # about no one case


# The kinds an SLA clock books for a case.
SLA_TIMER_KINDS = (TimerKind.REMINDER, TimerKind.BREACH)


class PageStatus(StrEnum):
    CLIMBING = "climbing"  # stepping up the chain until someone acknowledges
    ACKNOWLEDGED = "acknowledged"
    STOPPED = "stopped"  # the case was resolved or lowered out of a paging severity


ACTIVE_PAGES = (PageStatus.CLIMBING, PageStatus.ACKNOWLEDGED)
