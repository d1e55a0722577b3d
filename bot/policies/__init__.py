"""Escalation policies: YAML files validated into models the rest of the bot asks questions of."""

from bot.policies.calendars import CalendarSpec, HolidaySpec, WindowSpec
from bot.policies.durations import Duration, Reminder, parse_duration, parse_reminder
from bot.policies.loader import PolicyLoadError, check_policies, load_policies
from bot.policies.policy import Policy
from bot.policies.policy_set import NoPolicyForChannel, PolicySet
from bot.policies.problems import PolicyProblems
from bot.policies.severities import Responders, Rule, Severity, Targets

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
