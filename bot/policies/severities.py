"""A policy's severities: their targets, reminders, intake and what a breach sets off; the
rules that lower them; and the responders who answer them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from bot.policies import limits
from bot.policies.fields import (
    DurationField,
    GroupId,
    ReminderField,
    Slug,
    StrictModel,
    Text,
    Url,
    UserId,
)
from bot.policies.oncall import Target

TargetKind = Literal["first_response", "next_response", "resolution", "update_every"]
TARGET_KINDS: tuple[TargetKind, ...] = (
    "first_response",
    "next_response",
    "resolution",
    "update_every",
)
# Validation context of a policy rebuilt from a case's snapshot: checks added since the case
# opened (such as Slack's limits) must not make its policy unreadable.
FROM_SNAPSHOT = "from_snapshot"


def lookup_key(text: str) -> str:
    """How severity names are compared: case, spaces, dashes and underscores do not matter."""
    return re.sub(r"[\s_\-]+", "", text.lower())


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
