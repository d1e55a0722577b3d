"""Escalation policies: YAML files validated into models the rest of the bot asks questions of."""

from bot.policies.durations import Duration, Reminder, parse_duration, parse_reminder
from bot.policies.loader import PolicyLoadError, check_policies, load_policies
from bot.policies.schema import (
    CalendarSpec,
    HolidaySpec,
    NoPolicyForChannel,
    Policy,
    PolicyProblems,
    PolicySet,
    Responders,
    Rule,
    Severity,
    Targets,
    WindowSpec,
)

__all__ = [
    "CalendarSpec",
    "Duration",
    "HolidaySpec",
    "NoPolicyForChannel",
    "Policy",
    "PolicyLoadError",
    "PolicyProblems",
    "PolicySet",
    "Reminder",
    "Responders",
    "Rule",
    "Severity",
    "Targets",
    "WindowSpec",
    "check_policies",
    "load_policies",
    "parse_duration",
    "parse_reminder",
]
