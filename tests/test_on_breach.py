"""A severity's `on_breach`: a miss of its target pages a chain once per missed clock, however
the severity moved before, tells each notify target once (a user by direct message, a
channel by a post mentioning the user groups listed), and resolving the case stops that
page as it stops any other."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support.bot_messages import due, thread_lines
from tests.support.cases import open_case
from tests.support.clock import forward
from tests.support.paging import LEAD, LEADS, ONCALL, PRIMARY, SECOND, STRANGER, paging_bot_for
from tests.support.slash_commands import run

ESCALATIONS = "C0ESCALATE"
POLICY = f"""
id: breaches
name: Breaches
default: true
default_severity: sev3
responders: {{users: [{ENGINEER}]}}
severities:
  - {{id: sev1, name: SEV 1, calendar: 24/7, targets: {{first_response: 15m}}, page: urgent}}
  - id: sev2
    name: SEV 2
    calendar: 24/7
    targets: {{first_response: 1h}}
    on_breach:
      page: escalate
      notify: ["user:{STRANGER}", "group:{LEADS}", "channel:{ESCALATIONS}"]
  - {{id: sev3, name: SEV 3, calendar: 24/7, targets: {{first_response: 8h}}}}
oncall:
  schedules:
    platform:
      timezone: UTC
      layers:
        - rotation: [{PRIMARY}]
          shift: 1w
          start: "2026-01-05 09:00"
  escalations:
    urgent:
      levels:
        - {{notify: ["schedule:platform"], wait: 10m}}
      channel: {ONCALL}
    escalate:
      levels:
        - {{notify: ["user:{SECOND}"], wait: 10m}}
        - {{notify: ["user:{LEAD}"], wait: 10m}}
      repeat: 1
"""


def posted_to(bot: Bot, channel: str) -> list[tuple[str, str]]:
    """(HH:MM, text) of every message the bot posted to `channel` (a user id: their DM)."""
    return [
        (c.at.strftime("%H:%M"), str(c.params["text"]))
        for c in bot.slack.calls("chat.postMessage")
        if c.ok and c.params["channel"] == channel
    ]


def test_a_miss_pages_the_chain_once_tells_each_target_once_and_resolving_stops_it(
    db_url: str, tmp_path: Path
) -> None:
    for bot in paging_bot_for(db_url, tmp_path, POLICY):
        bot.slack.add_channel(ESCALATIONS, "escalations", bot_member=True)
        root = open_case(bot)  # Saturday 03:00, SEV 3
        # Up to SEV 2 (due 04:00), down and up again before it is due.
        for minutes, level in ((10, "sev2"), (10, "sev3"), (10, "sev2")):
            forward(bot, minutes)
            assert run(bot, "/severity", f"CASE-1 {level}")[2][0].startswith("CASE-1 is now")
        forward(bot, 30)  # 04:00: SEV 2's first response is missed
        [case] = bot.cases()
        link = f"<{case.permalink}|CASE-1>"
        missed = (
            f":rotating_light: {link} missed its first response target (due "
            f"{due('1768017600', 'Sat 10 Jan 2026 04:00 UTC')})."
        )
        assert posted_to(bot, STRANGER) == [("04:00", missed)]
        assert posted_to(bot, ESCALATIONS) == [("04:00", f"{missed} <!subteam^{LEADS}>")]
        assert [line for line in thread_lines(bot, root) if "missed its" in line] == [
            f"{missed} <@{ENGINEER}>"
        ]
        paged = (
            f":rotating_light: You are paged for {link} (SEV 2), level {{}} of the escalation "
            "chain, round 1: it missed its first response target.\n"
            f"Requester: <@{CUSTOMER}>, in <#{SUPPORT}>\n> it broke"
        )
        forward(bot, 10)  # 04:10: level 2
        assert posted_to(bot, SECOND) == [("04:00", paged.format(1))]
        assert posted_to(bot, LEAD) == [("04:10", paged.format(2))]
        forward(bot, 5)
        assert run(bot, "/case", "resolve CASE-1 fixed the registry")[2] == [
            "CASE-1 is resolved."
        ]
        forward(bot, 30)  # round 2 would have paged at 04:20 and 04:30
        assert [at for at, _ in posted_to(bot, SECOND) + posted_to(bot, LEAD)] == [
            "04:00",
            "04:10",
        ]
        assert posted_to(bot, PRIMARY) == []  # SEV 1 was never set: its chain never paged
