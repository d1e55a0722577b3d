"""The `calendars:` part of a policy: business hours in a time zone, minus public holidays
and closed dates, built into the calendars of bot.timekeeping that SLA clocks count on."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import holidays
from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from bot.policies.durations import Duration
from bot.policies.fields import (
    DAY_NAMES,
    ClosedDate,
    DurationField,
    EndTime,
    StartTime,
    StrictModel,
    Weekday,
    expand_days,
    known_zone,
)
from bot.timekeeping.calendars import BusinessCalendar, Calendar, WeeklyWindow

# The built-in calendar every policy has: always open.
ALWAYS_OPEN = "24/7"


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
