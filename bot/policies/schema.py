"""Policy models: the shape of a policy file and the questions the rest of the bot asks of it.

Shape errors come from pydantic with their location; cross-references inside one policy
(calendars, severities, aliases, rules, reminders) are checked after the shape and raised as
PolicyProblems, which also carries locations so the loader can name the line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import holidays
from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.policies import limits
from bot.policies.durations import Duration
from bot.policies.fields import (
    DAY_NAMES,
    ChannelId,
    ClosedDate,
    DurationField,
    EndTime,
    GroupId,
    ReminderField,
    Slug,
    StartTime,
    StrictModel,
    Text,
    Url,
    UserId,
    Weekday,
    expand_days,
    known_zone,
)
from bot.policies.oncall import OncallSpec, ScheduleSpec, Target, oncall_problems, target_parts

if TYPE_CHECKING:
    from bot.timekeeping.calendars import Calendar

Loc = tuple[str | int, ...]
TargetKind = Literal["first_response", "next_response", "resolution", "update_every"]
TARGET_KINDS: tuple[TargetKind, ...] = (
    "first_response",
    "next_response",
    "resolution",
    "update_every",
)
ALWAYS_OPEN = "24/7"
# Validation context of a policy rebuilt from a case's snapshot: checks added since the case
# opened (such as Slack's limits) must not make its policy unreadable.
FROM_SNAPSHOT = "from_snapshot"


class PolicyProblems(Exception):
    """Semantic problems in a policy whose shape was valid: (location, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(f"{format_loc(loc) or 'policy'}: {msg}" for loc, msg in problems)
        )


def format_loc(loc: Iterable[str | int]) -> str:
    """('severities', 2, 'targets') -> 'severities[2].targets'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def lookup_key(text: str) -> str:
    """How severity names are compared: case, spaces, dashes and underscores do not matter."""
    return re.sub(r"[\s_\-]+", "", text.lower())


# --- calendars --------------------------------------------------------------------------


class WindowSpec(StrictModel):
    """Open hours starting on each of `days`; `to` at or before `from` runs past midnight."""

    days: Annotated[tuple[Weekday, ...], BeforeValidator(expand_days)]
    from_: StartTime = Field(alias="from")
    to: EndTime


class HolidaySpec(StrictModel):
    """Public holidays from the `holidays` package: an ISO country code, maybe a subdivision."""

    country: str
    subdivision: str | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value.upper() not in holidays.list_supported_countries():
            raise ValueError(
                f"unknown holiday country '{value}': use a two-letter ISO code the holidays "
                "package supports, e.g. DE, GB, US"
            )
        return value.upper()

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:
            return value
        known = holidays.list_supported_countries()[country]
        for name in known:
            if name.lower() == value.lower():
                return name
        listed = ", ".join(known) if known else "none"
        raise ValueError(f"unknown subdivision '{value}' of {country}: known ones are {listed}")


class CalendarSpec(StrictModel):
    """A named business calendar: weekly open windows in a time zone, minus closed days."""

    timezone: str
    windows: tuple[WindowSpec, ...]
    holidays: HolidaySpec | None = None
    closed: tuple[ClosedDate, ...] = ()
    business_day: DurationField | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("windows")
    @classmethod
    def _some_windows(cls, value: tuple[WindowSpec, ...]) -> tuple[WindowSpec, ...]:
        if not value:
            raise ValueError("a calendar needs at least one window of open hours")
        return value

    @field_validator("business_day")
    @classmethod
    def _day_in_hours(cls, value: Duration | None) -> Duration | None:
        if value is not None and (value.days or value.seconds > 24 * 3600):
            raise ValueError(
                f"business_day '{value}' must be given in hours or minutes, at most 24h"
            )
        return value

    def build(self, name: str) -> Calendar:
        from bot.timekeeping.calendars import BusinessCalendar, WeeklyWindow

        windows = [
            WeeklyWindow(DAY_NAMES.index(day), window.from_, window.to)
            for window in self.windows
            for day in window.days
        ]
        closed: Any = frozenset(self.closed)
        if self.holidays is not None:
            closed = holidays.country_holidays(
                self.holidays.country, subdiv=self.holidays.subdivision
            )
            closed.update(dict.fromkeys(self.closed, "Closed"))
        day_length = self.business_day.to_timedelta(timedelta()) if self.business_day else None
        return BusinessCalendar(name, self.timezone, windows, closed, day_length=day_length)


# --- severities and rules ---------------------------------------------------------------


class Targets(StrictModel):
    """How long responders have, in open time of the severity's calendar; null means none."""

    first_response: DurationField | None = None
    next_response: DurationField | None = None
    resolution: DurationField | None = None
    # The update cadence: from the first response on, a responder's message is due within
    # this long of the last one while the case is open and not waiting on the requester.
    update_every: DurationField | None = None


class IntakeField(StrictModel):
    """One thing the team asks for when a case opens: a plain-text answer."""

    id: Slug
    label: Annotated[str, Field(min_length=1, max_length=2000)]
    required: bool = False


class Intake(StrictModel):
    """What the bot asks for when a case opens: the `ask` posted in its thread, and the
    `fields` of the form its "Add details" button opens."""

    ask: Annotated[str, Field(min_length=1, max_length=3000)]
    fields: tuple[IntakeField, ...] = ()

    @field_validator("fields")
    @classmethod
    def _fits_a_modal(cls, value: tuple[IntakeField, ...]) -> tuple[IntakeField, ...]:
        ids = [f.id for f in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"field id {', '.join(twice)} is used twice")
        if len(value) > 50:  # a modal holds at most 100 blocks; keep room for the rest
            raise ValueError(f"{len(value)} fields: a form holds at most 50")
        return value


class OnBreach(StrictModel):
    """What a miss of any of the severity's targets sets off besides the breach alert: a
    chain paged once per missed clock, and people told (users by direct message, user
    groups by a mention in each channel listed, channels by a post)."""

    page: Slug | None = None
    notify: tuple[Target, ...] = ()


class Severity(StrictModel):
    id: Slug
    name: Text
    aliases: tuple[Text, ...] = ()
    description: str | None = None
    calendar: Text
    targets: Targets
    reminders: tuple[ReminderField, ...] = ()
    # The escalation chain a case of this severity pages (`true`: the policy's only one).
    page: bool | Slug = False
    on_breach: OnBreach | None = None
    # Where customers follow an incident: overrides the policy's `status_page`.
    status_page: Url | None = None
    # What to ask for when a case of this severity opens: overrides the policy's `intake`.
    intake: Intake | None = None

    @field_validator("id")
    @classmethod
    def _id_fits_slack(cls, value: str, info: ValidationInfo) -> str:
        return _fits_slack("severity id", value, limits.SEVERITY_ID_SLOTS, info)

    @field_validator("name")
    @classmethod
    def _name_fits_slack(cls, value: str, info: ValidationInfo) -> str:
        return _fits_slack("severity name", value, limits.SEVERITY_NAME_SLOTS, info)


def _fits_slack(what: str, value: str, slots: tuple[limits.Slot, ...], info: ValidationInfo) -> str:
    """`value`, unless a message or modal built from it is one Slack would refuse."""
    problem = limits.too_long(what, value, slots)
    if problem and not (info.context or {}).get(FROM_SNAPSHOT):
        raise ValueError(problem)
    return value


class Rule(StrictModel):
    """A known workaround lowers the severity by `lower_by` levels, for `severities` or all."""

    when: Literal["workaround"]
    lower_by: Annotated[int, Field(ge=1)] = 1
    severities: tuple[Text, ...] | None = None


class Responders(StrictModel):
    users: tuple[UserId, ...] = ()
    groups: tuple[GroupId, ...] = ()


# --- the policy -------------------------------------------------------------------------


class Policy(StrictModel):
    """One support contract: who it covers, its severities, their calendars and targets.

    Equality and hashing follow the canonical content, so a policy rebuilt from a case's
    snapshot equals the one loaded from its file.
    """

    id: Slug
    name: Text
    description: str | None = None
    default: bool = False
    channels: tuple[ChannelId, ...] = ()
    responders: Responders = Responders()
    # `true`: the requester may choose any severity; a list: only those (ids, names, aliases).
    requester_may_set_severity: bool | tuple[Text, ...] = False
    # Where customers follow an incident: shown on the card of a paging severity and in pages.
    status_page: Url | None = None
    # What to ask the requester for when a case opens (a severity may override it).
    intake: Intake | None = None
    # Resolve a case that has waited on the requester this long (days of 24 hours).
    auto_resolve_after: DurationField | None = None
    default_severity: Text | None = None
    calendars: dict[Text, CalendarSpec] = {}
    severities: tuple[Severity, ...]
    rules: tuple[Rule, ...] = ()
    oncall: OncallSpec | None = None

    _lookup: dict[str, Severity] = PrivateAttr(default_factory=dict)
    _calendars: dict[str, Calendar] = PrivateAttr(default_factory=dict)
    _content: dict[str, Any] = PrivateAttr(default_factory=dict)
    _hash: str = PrivateAttr(default="")
    _source_path: str | None = PrivateAttr(default=None)

    @field_validator("severities")
    @classmethod
    def _some_severities(cls, value: tuple[Severity, ...]) -> tuple[Severity, ...]:
        if not value:
            raise ValueError("a policy needs at least one severity")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = _policy_problems(self)
        if problems:
            raise PolicyProblems(problems)
        return self

    def model_post_init(self, context: Any, /) -> None:
        for severity in self.severities:
            for key in (severity.id, severity.name, *severity.aliases):
                self._lookup.setdefault(lookup_key(key), severity)
        self._content = self.model_dump(mode="json", by_alias=True)
        canonical = json.dumps(self._content, sort_keys=True, separators=(",", ":"))
        self._hash = hashlib.sha256(canonical.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self._hash == other._hash and self._content == other._content

    def __hash__(self) -> int:
        return hash(self._hash)

    # -- identity and snapshots

    @property
    def content(self) -> dict[str, Any]:
        """The canonical, JSON-serialisable content; `from_snapshot` rebuilds the policy."""
        return json.loads(json.dumps(self._content))

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON (sorted keys, no spaces)."""
        return self._hash

    @property
    def source_path(self) -> str | None:
        """The file the policy was loaded from; None when built from a snapshot."""
        return self._source_path

    def with_source(self, path: str) -> Policy:
        """The same policy, remembering the file it came from (for messages)."""
        copy = self.model_copy()
        copy._source_path = path
        return copy

    @classmethod
    def from_snapshot(cls, content: dict[str, Any], content_hash: str | None = None) -> Policy:
        """Rebuild from `content`; with `content_hash`, refuse content that does not match."""
        policy = cls.model_validate(content, context={FROM_SNAPSHOT: True})
        if content_hash is not None and policy.content_hash != content_hash:
            raise ValueError(
                f"policy snapshot of '{policy.id}' does not match its hash {content_hash[:12]}"
            )
        return policy

    # -- severities

    @property
    def ordered_severities(self) -> tuple[Severity, ...]:
        """Most urgent first, as listed in the file."""
        return self.severities

    def severity(self, name: str) -> Severity | None:
        """Find a severity by id, name or alias: `SEV-1`, `sev1` and `Sev 1` are the same."""
        return self._lookup.get(lookup_key(name))

    @property
    def requester_severities(self) -> tuple[Severity, ...]:
        """The severities a case's requester may choose, most urgent first: none unless the
        policy says so (`requester_may_set_severity`)."""
        chosen = self.requester_may_set_severity
        if chosen is True:
            return self.severities
        if chosen is False:
            return ()
        picked = {self._require(name).id for name in chosen}
        return tuple(s for s in self.severities if s.id in picked)

    def _require(self, name: str) -> Severity:
        severity = self.severity(name)
        if severity is None:
            raise KeyError(f"policy '{self.id}' has no severity '{name}'")
        return severity

    @property
    def initial_severity(self) -> Severity:
        """A new case's severity: `default_severity`, else the least urgent one."""
        if self.default_severity is None:
            return self.severities[-1]
        return self._require(self.default_severity)

    def lower(self, severity_id: str, levels: int = 1) -> Severity:
        """`levels` steps less urgent, stopping at the least urgent severity."""
        index = self.severities.index(self._require(severity_id))
        return self.severities[min(index + max(levels, 0), len(self.severities) - 1)]

    def workaround_rule(self, severity_id: str) -> Rule | None:
        """The workaround rule covering a severity; the rule may name severities by id,
        name or alias."""
        severity = self._require(severity_id)
        for rule in self.rules:
            covered = rule.severities is None or any(
                self._require(name) is severity for name in rule.severities
            )
            if rule.when == "workaround" and covered:
                return rule
        return None

    def on_workaround(self, severity_id: str) -> Severity:
        """The severity once a workaround is known, per the policy's workaround rule."""
        rule = self.workaround_rule(severity_id)
        if rule is None:
            return self._require(severity_id)
        return self.lower(severity_id, rule.lower_by)

    # -- calendars and targets

    def calendar(self, name: str) -> Calendar:
        """The calendar called `name` ('24/7' or one under `calendars`), built once."""
        if name not in self._calendars:
            if name == ALWAYS_OPEN:
                from bot.timekeeping.calendars import AlwaysOpen

                self._calendars[name] = AlwaysOpen(name=ALWAYS_OPEN)
            else:
                self._calendars[name] = self.calendars[name].build(name)
        return self._calendars[name]

    def calendar_for(self, severity_id: str) -> Calendar:
        return self.calendar(self._require(severity_id).calendar)

    def target(self, severity_id: str, kind: TargetKind) -> timedelta | None:
        """The target as open time on the severity's calendar, or None when there is none."""
        duration = getattr(self._require(severity_id).targets, kind)
        if duration is None:
            return None
        return duration.to_timedelta(self.calendar_for(severity_id).day_length)

    def chain_for(self, severity_id: str) -> str | None:
        """The name of the escalation chain this severity pages, or None."""
        page = self._require(severity_id).page
        if page is False or self.oncall is None:
            return None
        if page is True:
            return next(iter(self.oncall.escalations), None)
        return page if page in self.oncall.escalations else None

    def intake_for(self, severity_id: str) -> Intake | None:
        """What a case of this severity is asked for: the severity's intake, else the
        policy's."""
        return self._require(severity_id).intake or self.intake

    def status_page_for(self, severity_id: str) -> str | None:
        """The status page a case of this severity points to: only a severity that pages
        has one shown (its own, else the policy's)."""
        severity = self._require(severity_id)
        if self.chain_for(severity.id) is None:
            return None
        return severity.status_page or self.status_page

    def unnamed_alerts(self) -> list[str]:
        """The severities whose SLA alerts, on a case nobody is assigned, would name nobody:
        the policy lists no responders and the severity pages no chain."""
        if self.responders.users or self.responders.groups:
            return []
        return [
            s.id
            for s in self.severities
            if self.chain_for(s.id) is None
            and any(getattr(s.targets, kind) is not None for kind in TARGET_KINDS)
        ]

    def reminder_offsets(self, severity_id: str, kind: TargetKind) -> list[timedelta]:
        """Open time after the clock starts at which each reminder for this target is due."""
        target = self.target(severity_id, kind)
        if target is None:
            return []
        day_length = self.calendar_for(severity_id).day_length
        severity = self._require(severity_id)
        return sorted(r.fires_after(target, day_length) for r in severity.reminders)


def _policy_problems(policy: Policy) -> list[tuple[Loc, str]]:
    """Cross-references inside one policy whose shape is already valid."""
    problems, usable = _calendar_problems(policy)
    problems += _name_problems(policy)
    for i, severity in enumerate(policy.severities):
        if severity.calendar not in (ALWAYS_OPEN, *policy.calendars):
            defined = ", ".join([ALWAYS_OPEN, *policy.calendars])
            problems.append(
                (
                    ("severities", i, "calendar"),
                    f"calendar '{severity.calendar}' is not defined: use one of {defined}",
                )
            )
        elif severity.calendar in usable:
            problems += _reminder_problems(policy, i, severity)
    if policy.default_severity and not policy.severity(policy.default_severity):
        problems.append(
            (("default_severity",), f"'{policy.default_severity}' is not a severity of this policy")
        )
    problems += _requester_severity_problems(policy)
    for i, severity in enumerate(policy.severities):
        if severity.on_breach is not None:
            problems += _on_breach_problems(policy, i, severity.on_breach)
    problems += _rule_problems(policy)
    problems += _channel_problems(policy)
    pages = [(i, s.page) for i, s in enumerate(policy.severities) if s.page is not False]
    problems += oncall_problems(policy.oncall, pages)
    return problems


def _on_breach_problems(policy: Policy, index: int, spec: OnBreach) -> list[tuple[Loc, str]]:
    where: Loc = ("severities", index, "on_breach")
    if spec.page is None and not spec.notify:
        return [(where, "on_breach needs `page` (a chain), `notify` (targets) or both")]
    problems: list[tuple[Loc, str]] = []
    chains = policy.oncall.escalations if policy.oncall else {}
    if spec.page is not None and spec.page not in chains:
        known = ", ".join(chains) or "none is defined under oncall.escalations"
        problems.append(((*where, "page"), f"chain '{spec.page}' is not defined: known: {known}"))
    kinds = [target_parts(target)[0] for target in spec.notify]
    for j, (target, kind) in enumerate(zip(spec.notify, kinds, strict=True)):
        loc: Loc = (*where, "notify", j)
        if kind not in ("user", "group", "channel"):
            problems.append(
                (
                    loc,
                    f"'{target}': on_breach notifies user:, group: and channel: targets; "
                    "page a chain for schedules and webhooks",
                )
            )
        elif kind == "group" and "channel" not in kinds:
            problems.append(
                (
                    loc,
                    f"{target} is told by a mention in each channel of `notify`: add a "
                    "channel:C… target",
                )
            )
    return problems


def _requester_severity_problems(policy: Policy) -> list[tuple[Loc, str]]:
    chosen = policy.requester_may_set_severity
    if isinstance(chosen, bool):
        return []
    if not chosen:
        return [
            (
                ("requester_may_set_severity",),
                "an empty list lets the requester choose nothing: write false instead",
            )
        ]
    ids = ", ".join(s.id for s in policy.severities)
    return [
        (("requester_may_set_severity", i), f"'{name}' is not a severity of this policy: use {ids}")
        for i, name in enumerate(chosen)
        if policy.severity(name) is None
    ]


def _calendar_problems(policy: Policy) -> tuple[list[tuple[Loc, str]], set[str]]:
    """Problems building the calendars, and the names of those that built."""
    problems: list[tuple[Loc, str]] = []
    usable = {ALWAYS_OPEN}
    if ALWAYS_OPEN in policy.calendars:
        problems.append((("calendars", ALWAYS_OPEN), "'24/7' is built in: name your calendar"))
    for name in policy.calendars:
        try:
            policy.calendar(name)
        except ValueError as error:
            problems.append((("calendars", name), str(error)))
        else:
            usable.add(name)
    return problems, usable


def _name_problems(policy: Policy) -> list[tuple[Loc, str]]:
    """Ids, names and aliases must each lead to one severity once normalised for lookup."""
    problems: list[tuple[Loc, str]] = []
    owner: dict[str, Severity] = {}
    for i, severity in enumerate(policy.severities):
        first = owner.setdefault(lookup_key(severity.id), severity).id
        if owner[lookup_key(severity.id)] is not severity:
            same = "is used twice" if first == severity.id else f"is the same as '{first}'"
            problems.append((("severities", i, "id"), f"severity id '{severity.id}' {same}"))
    for i, severity in enumerate(policy.severities):
        names: list[tuple[str, Loc]] = [(severity.name, ("severities", i, "name"))]
        names += [(a, ("severities", i, "aliases", j)) for j, a in enumerate(severity.aliases)]
        for name, loc in names:
            key = lookup_key(name)
            other = owner.setdefault(key, severity)
            if not key:
                problems.append((loc, f"'{name}' is empty once spaces and dashes are ignored"))
            elif other is not severity:
                what = "alias" if "aliases" in loc else "name"
                problems.append((loc, f"{what} '{name}' already refers to severity '{other.id}'"))
    return problems


def _rule_problems(policy: Policy) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    covered: dict[str, int] = {}
    for i, rule in enumerate(policy.rules):
        applies_to: list[Severity] = []
        for j, name in enumerate(rule.severities or ()):
            found = policy.severity(name)
            if found is None:
                problems.append(
                    (("rules", i, "severities", j), f"'{name}' is not a severity of this policy")
                )
            else:
                applies_to.append(found)
        for severity in policy.severities if rule.severities is None else applies_to:
            # two rules for one severity would make the outcome depend on their order
            earlier = covered.setdefault(severity.id, i)
            if earlier != i:
                problems.append(
                    (
                        ("rules", i),
                        f"severity '{severity.id}' already has a {rule.when} rule "
                        f"(rules[{earlier}])",
                    )
                )
                break
    return problems


def _channel_problems(policy: Policy) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for j, channel in enumerate(policy.channels):
        if channel in policy.channels[:j]:
            problems.append((("channels", j), f"channel {channel} is listed twice"))
    if not policy.default and not policy.channels:
        problems.append(
            (("channels",), "the policy covers no channel: list channel ids or set default: true")
        )
    return problems


def _reminder_problems(policy: Policy, i: int, severity: Severity) -> list[tuple[Loc, str]]:
    """A reminder given as time before the target must come after the clock starts."""
    targets = {k: getattr(severity.targets, k) for k in TARGET_KINDS}
    targets = {k: v for k, v in targets.items() if v is not None}
    if severity.reminders and not targets:
        return [(("severities", i, "reminders"), "reminders need at least one target")]
    day_length = policy.calendar(severity.calendar).day_length
    problems: list[tuple[Loc, str]] = []
    for j, reminder in enumerate(severity.reminders):
        for kind, duration in targets.items():
            if reminder.fires_after(duration.to_timedelta(day_length), day_length) <= timedelta():
                problems.append(
                    (
                        ("severities", i, "reminders", j),
                        f"reminder '{reminder}' is not before the {kind} target ({duration}) "
                        "is due: make it shorter than the target",
                    )
                )
                break
    return problems


# --- all loaded policies ----------------------------------------------------------------


class NoPolicyForChannel(LookupError):
    """No policy lists the channel and none is the default."""


def set_problems(policies: list[Policy]) -> list[tuple[int, Loc, str]]:
    """Conflicts between policies: (index of the offending policy, location, message)."""
    problems: list[tuple[int, Loc, str]] = []
    ids: dict[str, Policy] = {}
    channels: dict[str, Policy] = {}
    default: Policy | None = None
    schedules: dict[str, Policy] = {}
    for i, policy in enumerate(policies):
        for name in policy.oncall.schedules if policy.oncall else ():
            # `/oncall NAME` and run-time overrides name a schedule without its policy.
            if name in schedules:
                problems.append(
                    (
                        i,
                        ("oncall", "schedules", name),
                        f"schedule '{name}' is already defined by {_where(schedules[name])}: "
                        "schedule names are shared by all policies",
                    )
                )
            schedules.setdefault(name, policy)
        if policy.id in ids:
            where = _where(ids[policy.id])
            problems.append((i, ("id",), f"policy id '{policy.id}' is already used by {where}"))
        ids.setdefault(policy.id, policy)
        if policy.default:
            if default is not None:
                problems.append(
                    (
                        i,
                        ("default",),
                        f"{_where(default)} is already the default policy: "
                        "only one policy may set default: true",
                    )
                )
            default = default or policy
        for j, channel in enumerate(policy.channels):
            if channel in channels and channels[channel] is not policy:
                problems.append(
                    (
                        i,
                        ("channels", j),
                        f"channel {channel} is already covered by {_where(channels[channel])}",
                    )
                )
            channels.setdefault(channel, policy)
    return problems


def _where(policy: Policy) -> str:
    return (
        f"policy '{policy.id}' ({policy.source_path})"
        if policy.source_path
        else (f"policy '{policy.id}'")
    )


class PolicySet:
    """Every loaded policy, and which one runs a channel."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = tuple(policies)
        problems = set_problems(list(self.policies))
        if problems:
            raise ValueError(
                "; ".join(
                    f"{self.policies[i].id}: {format_loc(loc)}: {m}" for i, loc, m in problems
                )
            )
        self._by_channel = {c: p for p in self.policies for c in p.channels}
        self._by_id = {p.id: p for p in self.policies}
        self.default = next((p for p in self.policies if p.default), None)

    def for_channel(self, channel_id: str) -> Policy:
        policy = self._by_channel.get(channel_id, self.default)
        if policy is None:
            raise NoPolicyForChannel(f"no policy covers channel {channel_id} and none is default")
        return policy

    def get(self, policy_id: str) -> Policy | None:
        return self._by_id.get(policy_id)

    @property
    def severity_count(self) -> int:
        return sum(len(p.severities) for p in self.policies)

    def schedules(self) -> dict[str, ScheduleSpec]:
        """Every on-call schedule of every policy, by name."""
        return {
            name: spec
            for policy in self.policies
            for name, spec in (policy.oncall.schedules if policy.oncall else {}).items()
        }

    def owner_of_schedule(self, name: str) -> Policy:
        """The policy that defines schedule `name` (names are unique across policies)."""
        return next(p for p in self.policies if p.oncall and name in p.oncall.schedules)

    def ack_emoji(self) -> frozenset[str]:
        """The emoji that acknowledge a page, in any policy."""
        return frozenset(p.oncall.ack_emoji for p in self.policies if p.oncall)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)
