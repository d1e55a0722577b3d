"""The checks of one policy whose shape is valid: the cross-references between its
calendars, severities and their names, rules, reminders, channels and escalation chains."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.policies.calendars import ALWAYS_OPEN
from bot.policies.oncall import oncall_problems, target_parts
from bot.policies.problems import Loc
from bot.policies.severities import TARGET_KINDS, OnBreach, Severity, lookup_key

if TYPE_CHECKING:
    # Only a type here: the policy runs these checks when it is built.
    from bot.policies.policy import Policy


def policy_problems(policy: Policy) -> list[tuple[Loc, str]]:
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
    if policy.report_channel and len(policy.workspaces) > 1:
        problems.append(
            (
                ("report_channel",),
                "a report channel is in one workspace: give it to a policy that names one "
                "workspace, or none",
            )
        )
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
