"""The policy of the tests that kill, restart or replicate `serve` while timers fire: one
severity, around the clock, whose first-response target (40 s) and half-time reminder fall
due within a minute of a case opening."""

from __future__ import annotations

POLICY = """\
id: chaos
name: Chaos
default: true
default_severity: fast
severities:
  - id: fast
    name: Fast
    calendar: 24/7
    targets: {first_response: 40s}
    reminders: ["50%"]
"""
