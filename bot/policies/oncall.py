"""The `oncall:` part of a policy: schedules (rotations in layers, overrides) and escalation
chains (levels of targets, each with a wait), and the checks that tie them together."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from bot.policies.fields import (
    DAY_NAMES,
    ChannelId,
    EndTime,
    LocalStamp,
    Slug,
    SpanField,
    StartTime,
    StrictModel,
    TimeZone,
    UserId,
    Weekday,
    expand_days,
)
from bot.timekeeping.rotations import Layer, Override, Schedule, Window

Loc = tuple[str | int, ...]

_TARGET = re.compile(
    r"(?P<kind>schedule|user|group|channel|webhook):(?P<value>.+)", flags=re.DOTALL
)
_ID_SHAPES = {
    "user": (re.compile(r"[UW][A-Z0-9]{4,}"), "a user id such as U0123ABCD"),
    "group": (re.compile(r"S[A-Z0-9]{4,}"), "a user group id such as S0123ABCD"),
    "channel": (re.compile(r"[CG][A-Z0-9]{4,}"), "a channel id such as C0123ABCD"),
    "schedule": (re.compile(r"[a-z0-9][a-z0-9._\-]*"), "the name of a schedule"),
    "webhook": (re.compile(r"https?://[^\s]+"), "an http(s) URL"),
}


def _check_target(value: str) -> str:
    found = _TARGET.fullmatch(value.strip())
    if found is None:
        raise ValueError(
            f"'{value}' is not a page target: write schedule:NAME, user:U…, group:S…, "
            "channel:C… or webhook:https://…"
        )
    kind, rest = found.group("kind"), found.group("value").strip()
    pattern, what = _ID_SHAPES[kind]
    if not pattern.fullmatch(rest):
        raise ValueError(f"'{value}': after '{kind}:' write {what}")
    return f"{kind}:{rest}"


# The validation context key of a policy rebuilt from a case's snapshot
# (bot.policies.severities.FROM_SNAPSHOT, which builds on this module).
_FROM_SNAPSHOT = "from_snapshot"


class InsecureWebhook(str):
    """A webhook target its policy lets use plain http (`insecure: true`): a pager on the
    operator's own network. Written and stored as `{webhook: URL, insecure: true}`."""


class EarlierHttpWebhook(str):
    """A plain http webhook target in the snapshot of a case opened before http needed
    `insecure: true`: that case keeps paging it, and its snapshot keeps its hash."""


def _target(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> str:
    """A target as text (`kind:value`), or a webhook as a mapping with its `insecure` flag."""
    insecure = False
    if isinstance(value, dict):
        if "webhook" not in value or not set(value) <= {"webhook", "insecure"}:
            raise ValueError(
                "only a webhook target is written as a mapping: "
                "{webhook: http://…, insecure: true}; write the others as text, e.g. user:U…"
            )
        insecure = value.get("insecure", False)
        if not isinstance(insecure, bool) or not isinstance(value["webhook"], str):
            raise ValueError("write a webhook mapping as {webhook: URL, insecure: true}")
        value = f"webhook:{value['webhook']}"
    target = _check_target(handler(value))
    if insecure:
        return InsecureWebhook(target)
    if (info.context or {}).get(_FROM_SNAPSHOT) and _plain_http(target):
        return EarlierHttpWebhook(target)
    return target


def _stored(target: str) -> str | dict[str, Any]:
    if isinstance(target, InsecureWebhook):
        return {"webhook": target_parts(target)[1], "insecure": True}
    return str(target)


def _plain_http(target: str) -> bool:
    kind, value = target_parts(target)
    return kind == "webhook" and value.lower().startswith("http://")


def _needs_insecure(target: str) -> bool:
    """A plain http webhook its policy did not mark `insecure: true`."""
    return _plain_http(target) and not isinstance(target, InsecureWebhook | EarlierHttpWebhook)


Target = Annotated[str, WrapValidator(_target), PlainSerializer(_stored)]


def target_parts(target: str) -> tuple[str, str]:
    """'schedule:platform' -> ('schedule', 'platform')."""
    kind, _, value = target.partition(":")
    return kind, value


class OnlySpec(StrictModel):
    """The weekly window a layer is active in; `to` at or before `from` runs overnight."""

    days: Annotated[tuple[Weekday, ...], BeforeValidator(expand_days)]
    from_: StartTime = Field(alias="from")
    to: EndTime


class LayerSpec(StrictModel):
    rotation: tuple[UserId, ...]
    shift: SpanField
    start: LocalStamp
    only: OnlySpec | None = None

    @field_validator("rotation")
    @classmethod
    def _someone(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a rotation needs at least one person")
        return value


class OverrideSpec(StrictModel):
    user: UserId
    from_: LocalStamp = Field(alias="from")
    to: LocalStamp

    @model_validator(mode="after")
    def _ends_after_start(self) -> OverrideSpec:
        if self.to <= self.from_:
            raise ValueError("an override must end after it starts")
        return self


class ScheduleSpec(StrictModel):
    timezone: TimeZone
    layers: tuple[LayerSpec, ...]
    overrides: tuple[OverrideSpec, ...] = ()

    @field_validator("layers")
    @classmethod
    def _some_layers(cls, value: tuple[LayerSpec, ...]) -> tuple[LayerSpec, ...]:
        if not value:
            raise ValueError("a schedule needs at least one layer")
        return value

    def build(self, name: str, extra: Iterable[tuple[str, datetime, datetime]] = ()) -> Schedule:
        """The schedule, with run-time overrides `extra` (user, from, to as UTC instants)
        after the file's own, so the latest one stored wins."""
        zone = ZoneInfo(self.timezone)
        layers = tuple(
            Layer(
                rotation=layer.rotation,
                shift=layer.shift,
                start=layer.start,
                only=Window(
                    frozenset(DAY_NAMES.index(d) for d in layer.only.days),
                    layer.only.from_,
                    layer.only.to,
                )
                if layer.only
                else None,
            )
            for layer in self.layers
        )
        overrides = [Override(o.user, o.from_, o.to) for o in self.overrides]
        for user, start, end in extra:
            local_start = start.astimezone(zone).replace(tzinfo=None)
            local_end = end.astimezone(zone).replace(tzinfo=None)
            if local_end > local_start:
                overrides.append(Override(user, local_start, local_end))
        return Schedule(name, zone, layers, tuple(overrides))


class LevelSpec(StrictModel):
    notify: tuple[Target, ...]
    wait: SpanField

    @field_validator("notify")
    @classmethod
    def _someone(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a level needs at least one target to notify")
        return value


class EscalationSpec(StrictModel):
    """A chain: each level's targets are paged, and the next level after its wait, until
    someone acknowledges; `repeat` more climbs of the whole chain, then the fallback."""

    levels: tuple[LevelSpec, ...]
    repeat: Annotated[int, Field(ge=0, le=10)] = 0
    fallback: tuple[Target, ...] = ()
    channel: ChannelId | None = None
    # Page again when an acknowledged case has no responder reply this long after.
    repage_after: SpanField | None = None

    @field_validator("levels")
    @classmethod
    def _some_levels(cls, value: tuple[LevelSpec, ...]) -> tuple[LevelSpec, ...]:
        if not value:
            raise ValueError("a chain needs at least one level")
        return value


class OncallSpec(StrictModel):
    schedules: dict[Slug, ScheduleSpec] = {}
    escalations: dict[Slug, EscalationSpec] = {}
    # Reacting with this emoji on a page acknowledges it.
    ack_emoji: Annotated[str, Field(min_length=1, max_length=100)] = "eyes"

    @field_validator("ack_emoji")
    @classmethod
    def _emoji_name(cls, value: str) -> str:
        name = value.strip(":")
        if not re.fullmatch(r"[a-z0-9_+\-']+", name):
            raise ValueError(f"'{value}' is not an emoji name: write it as Slack does, e.g. eyes")
        return name


def oncall_problems(spec: OncallSpec | None, pages: list[tuple[int, Any]]) -> list[tuple[Loc, str]]:
    """Cross-references: schedules named by chains exist, one user's overrides do not
    overlap, webhooks are https unless marked insecure, and each severity's `page` names a
    chain. `pages` holds (severity index, its `page` value) for severities that page."""
    problems: list[tuple[Loc, str]] = []
    chains = dict(spec.escalations) if spec else {}
    schedules = dict(spec.schedules) if spec else {}
    for name, chain in chains.items():
        places: list[tuple[Loc, str]] = [
            (("oncall", "escalations", name, "levels", i, "notify", j), target)
            for i, level in enumerate(chain.levels)
            for j, target in enumerate(level.notify)
        ]
        places += [
            (("oncall", "escalations", name, "fallback", j), t)
            for j, t in enumerate(chain.fallback)
        ]
        for loc, target in places:
            kind, value = target_parts(target)
            if kind == "schedule" and value not in schedules:
                known = ", ".join(schedules) or "none is defined under oncall.schedules"
                problems.append((loc, f"schedule '{value}' is not defined: known: {known}"))
            elif kind == "group" and chain.channel is None:
                problems.append(
                    (
                        loc,
                        f"group {value} is paged by a mention in the chain's channel: "
                        "set the chain's `channel`",
                    )
                )
            elif _needs_insecure(target):
                problems.append(
                    (
                        loc,
                        f"'{target}' is plain http: write an https URL, or "
                        f"{{webhook: {value}, insecure: true}} for a pager on your own network",
                    )
                )
    for name, schedule in schedules.items():
        problems += _override_problems(name, schedule)
    for index, page in pages:
        where: Loc = ("severities", index, "page")
        if page is True:
            if len(chains) != 1:
                problems.append(
                    (
                        where,
                        "page: true needs exactly one chain under oncall.escalations "
                        f"(there are {len(chains)}): name the chain instead",
                    )
                )
        elif page not in chains:
            known = ", ".join(chains) or "none is defined under oncall.escalations"
            problems.append((where, f"chain '{page}' is not defined: known: {known}"))
    return problems


def _override_problems(name: str, schedule: ScheduleSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for i, one in enumerate(schedule.overrides):
        for j, other in enumerate(schedule.overrides[:i]):
            if one.user == other.user and one.from_ < other.to and other.from_ < one.to:
                problems.append(
                    (
                        ("oncall", "schedules", name, "overrides", i),
                        f"overlaps overrides[{j}] of the same person {one.user}: "
                        "merge them into one",
                    )
                )
    return problems
