"""One payload class per outbox intent. A row's `data` column holds its payload as JSON;
the stored shape is the one these classes dump, which is the shape rows had before the
classes existed, so rows written by an earlier release read back unchanged."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


class Intent(StrEnum):
    CASE_CARD = "case_card"
    CASE_CARD_UPDATE = "case_card_update"
    # The card shown again because time passed (a target missed), not because anyone changed
    # the case: it goes when Slack has room (bot.slack.queue).
    CASE_CARD_REFRESH = "case_card_refresh"
    INTAKE_ASK = "intake_ask"
    TRIAGE_NOTICE = "triage_notice"
    SEVERITY_CHANGED = "severity_changed"
    EPHEMERAL_NOTICE = "ephemeral_notice"
    SLA_REMINDER = "sla_reminder"
    BREACH_ALERT = "breach_alert"
    BREACH_NOTICE = "breach_notice"
    DM_NOTICE = "dm_notice"
    CASE_CHANGED = "case_changed"
    RESOLUTION_SUMMARY = "resolution_summary"
    COMMAND_REPLY = "command_reply"
    OPEN_VIEW = "open_view"
    HOME_VIEW = "home_view"
    WEEKLY_REPORT = "weekly_report"
    PAGE_DM = "page_dm"
    PAGE_POST = "page_post"
    PAGE_WARNING = "page_warning"
    PAGE_ACKNOWLEDGED = "page_acknowledged"
    PAGE_CLOSED = "page_closed"
    PAGE_STOPPED = "page_stopped"
    PAGE_WEBHOOK = "page_webhook"
    HANDOFF_DM = "handoff_dm"


class PayloadError(ValueError):
    """An outbox row's data does not match its intent's payload."""


def _instant(value: str) -> str:
    if datetime.fromisoformat(value).tzinfo is None:
        raise ValueError("an instant needs its UTC offset")
    return value


# An instant as ISO 8601 text with its offset, as rows have always stored it.
Instant = Annotated[str, AfterValidator(_instant)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threaded(Payload):
    """Posted in the case's thread when it has one, else in the channel."""

    thread_ts: str | None = None


class CaseCard(Threaded):
    pass


class CaseCardUpdate(Payload):
    pass


class IntakeAsk(Threaded):
    pass


class TriageNotice(Payload):
    pass


class SeverityChanged(Threaded):
    actor: str
    old: str | None
    new: str
    reason: str | None = None


class EphemeralNotice(Threaded):
    user: str
    text: str


class Alert(Threaded):
    """A reminder or a breach of one of the case's clocks."""

    target: str  # the clock's kind, e.g. first_response
    due_at: Instant
    fired_at: Instant
    # Whom to name when the case has no assignee and the policy no responders.
    on_call_users: list[str] = []
    on_call_groups: list[str] = []


class SlaReminder(Alert):
    pass


class BreachAlert(Alert):
    pass


class BreachNotice(Payload):
    """A severity's `on_breach` telling a channel or person of the miss."""

    target: str
    due_at: Instant
    fired_at: Instant
    groups: list[str] = []


class DmNotice(Payload):
    # "no_policy", "not_set_up" (no policy serves the workspace), or "invite_hint" (the bot
    # cannot read the channel)
    notice: str
    source_channel: str


class CaseChanged(Threaded):
    actor: str
    what: str
    source: str | None = None
    old: str | None = None
    new: str | None = None
    note: str | None = None


class ResolutionSummary(Threaded):
    opened_at: Instant
    resolved_at: Instant
    first_due: Instant | None = None
    first_met: Instant | None = None
    first_by: str | None = None
    waited_seconds: float
    breaches: int


class CommandReply(Payload):
    user: str
    response_url: str | None = None
    text: str


class OpenView(Payload):
    trigger_id: str
    view: dict[str, Any]


class HomeView(Payload):
    view: dict[str, Any]


class WeeklyReport(Payload):
    text: str
    png: str  # base64
    filename: str
    title: str
    alt_text: str


class PagedCase(Payload):
    """The case as a page's messages name it, so that they render without reading `cases`
    (rows written by an earlier release have none and read the case)."""

    number: int
    team: str
    channel: str
    policy: str
    permalink: str | None = None
    requester: str | None = None

    @property
    def key(self) -> str:
        return f"CASE-{self.number}"


class PageContent(Payload):
    """What every message of one paging step says."""

    page: int
    step: int
    round: int
    level: int
    severity: str
    severity_name: str
    summary: str
    ack_emoji: str = "eyes"
    breach: str | None = None  # the missed target an `on_breach` page is for
    status_page: str | None = None
    about: PagedCase | None = None


class PageDm(PageContent):
    pass


class PagePost(PageContent):
    users: list[str] = []
    groups: list[str] = []


class PageWebhook(PagePost):
    url: str


class PageWarning(PageContent):
    schedules: list[str]  # those with nobody on call
    fallback: list[str] = []


class PageAcknowledged(Threaded):
    page: int
    user: str
    at: Instant
    took: bool = False


class PageClosed(Payload):
    """A page message that went out, edited once the page is over: acknowledged by `user`
    at `at`, or stopped for `why`."""

    ts: str
    severity_name: str | None = None
    user: str | None = None
    at: Instant | None = None
    why: str | None = None


class PageStopped(Payload):
    why: str


class HandoffLine(Payload):
    case: str
    channel: str
    severity: str
    status: str
    due: Instant | None = None
    next_due: Instant | None = None
    permalink: str | None = None


class HandoffDm(Payload):
    schedule: str
    at: Instant
    previous: str | None = None
    cases: list[HandoffLine] = []


PAYLOADS: dict[Intent, type[Payload]] = {
    Intent.CASE_CARD: CaseCard,
    Intent.CASE_CARD_UPDATE: CaseCardUpdate,
    Intent.CASE_CARD_REFRESH: CaseCardUpdate,
    Intent.INTAKE_ASK: IntakeAsk,
    Intent.TRIAGE_NOTICE: TriageNotice,
    Intent.SEVERITY_CHANGED: SeverityChanged,
    Intent.EPHEMERAL_NOTICE: EphemeralNotice,
    Intent.SLA_REMINDER: SlaReminder,
    Intent.BREACH_ALERT: BreachAlert,
    Intent.BREACH_NOTICE: BreachNotice,
    Intent.DM_NOTICE: DmNotice,
    Intent.CASE_CHANGED: CaseChanged,
    Intent.RESOLUTION_SUMMARY: ResolutionSummary,
    Intent.COMMAND_REPLY: CommandReply,
    Intent.OPEN_VIEW: OpenView,
    Intent.HOME_VIEW: HomeView,
    Intent.WEEKLY_REPORT: WeeklyReport,
    Intent.PAGE_DM: PageDm,
    Intent.PAGE_POST: PagePost,
    Intent.PAGE_WARNING: PageWarning,
    Intent.PAGE_ACKNOWLEDGED: PageAcknowledged,
    Intent.PAGE_CLOSED: PageClosed,
    Intent.PAGE_STOPPED: PageStopped,
    Intent.PAGE_WEBHOOK: PageWebhook,
    Intent.HANDOFF_DM: HandoffDm,
}


def read(intent: str, data: dict[str, Any] | None) -> Payload:
    """The row's payload, checked against its intent's class."""
    try:
        kind = PAYLOADS[Intent(intent)]
    except ValueError:
        raise PayloadError(f"unknown outbox intent {intent!r}") from None
    try:
        return kind.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()
        )
        raise PayloadError(f"{intent} payload: {problems}") from None


def check(intent: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a row of `intent` stores for `data`: checked, then as JSON, holding the fields
    given and no others (so the stored shape stays what it always was)."""
    return read(intent, data).model_dump(mode="json", exclude_unset=True)
