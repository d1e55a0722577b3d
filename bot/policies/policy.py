"""A policy: one support contract, and the questions the rest of the bot asks of it.

Its shape is checked by pydantic, then the cross-references inside it by bot.policies.checks.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from pydantic import PrivateAttr, field_validator, model_validator

from bot.policies.calendars import ALWAYS_OPEN, CalendarSpec
from bot.policies.checks import policy_problems
from bot.policies.fields import ChannelId, DurationField, Slug, StrictModel, TeamId, Text, Url
from bot.policies.oncall import OncallSpec
from bot.policies.problems import PolicyProblems
from bot.policies.severities import (
    FROM_SNAPSHOT,
    TARGET_KINDS,
    Intake,
    Responders,
    Rule,
    Severity,
    TargetKind,
    lookup_key,
)
from bot.timekeeping.calendars import AlwaysOpen, Calendar


class Policy(StrictModel):
    """One support contract: who it covers, its severities, their calendars and targets.

    Equality and hashing follow the canonical content, so a policy rebuilt from a case's
    snapshot equals the one loaded from its file.
    """

    id: Slug
    name: Text
    description: str | None = None
    default: bool = False
    # The Slack workspaces it serves; none: every workspace (the single-workspace default).
    workspaces: tuple[TeamId, ...] = ()
    channels: tuple[ChannelId, ...] = ()
    responders: Responders = Responders()
    # `true`: the requester may choose any severity; a list: only those (ids, names, aliases).
    requester_may_set_severity: bool | tuple[Text, ...] = False
    # Where customers follow an incident: shown on the card of a paging severity and in pages.
    status_page: Url | None = None
    # Gets this policy's weekly report (its rows only), in its workspace.
    report_channel: ChannelId | None = None
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
        problems = policy_problems(self)
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

    def serves(self, team_id: str | None) -> bool:
        """Whether cases of workspace `team_id` may run under this policy: every workspace's
        when it names none."""
        return not self.workspaces or team_id in self.workspaces

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
