"""A paging world on a fast-forwardable clock shared with the Slack stand-in: the paging
policy (a weekly rotation, a lead and a group on level 2, an on-call channel as fallback),
the bot running it from Saturday 03:00, and readers for the pages it posts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import FakeClock
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot, make_bot
from tests.support.fake_slack import Call, FakeSlack

PRIMARY, SECOND, LEAD = "U0PRIMARY1", "U0SECOND01", "U0LEAD0001"
LEADS, STRANGER, ONCALL = "S0LEADS001", "U0STRANGR1", "C0ONCALL01"
SATURDAY_3AM = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)

POLICY = f"""
id: paging
name: Paging
default: true
default_severity: sev1
responders: {{users: [{ENGINEER}]}}
severities:
  - id: sev1
    name: SEV 1
    calendar: 24/7
    targets: {{first_response: 1h}}
    page: urgent
  - id: sev3
    name: SEV 3
    calendar: 24/7
    targets: {{first_response: 8h}}
oncall:
  schedules:
    platform:
      timezone: Europe/Berlin
      layers:
        - rotation: [{PRIMARY}, {SECOND}]
          shift: 1w
          start: "2026-01-05 09:00"
  escalations:
    urgent:
      levels:
        - {{notify: ["schedule:platform"], wait: 10m}}
        - {{notify: ["user:{LEAD}", "group:{LEADS}"], wait: 15m}}
      repeat: 1
      fallback: ["channel:{ONCALL}"]
      channel: {ONCALL}
"""


def paging_bot_for(
    db_url: str, tmp_path: Path, policy: str = POLICY, **settings: Any
) -> Iterator[Bot]:
    """The bot running `policy` (the paging one unless given), with everyone it names in
    the stand-in, its clock at Saturday 03:00."""
    clock = FakeClock(SATURDAY_3AM)
    with FakeSlack(clock=clock) as fake:
        for user, name in (
            (CUSTOMER, "ana"),
            (ENGINEER, "sam"),
            (PRIMARY, "pia"),
            (SECOND, "sol"),
            (LEAD, "lee"),
            (STRANGER, "stu"),
        ):
            fake.add_user(user, name, name.title())
        fake.add_usergroup(LEADS, [LEAD])
        fake.add_channel(SUPPORT, "support", bot_member=True)
        fake.add_channel(ONCALL, "oncall", bot_member=True)
        folder = tmp_path / "policies"
        folder.mkdir(exist_ok=True)
        (folder / "paging.yaml").write_text(policy)
        yield from make_bot(db_url, fake, clock=clock, policies_path=str(folder), **settings)


def posts(bot: Bot) -> list[tuple[str, str, str]]:
    """Every message the bot posted, as (instant HH:MM, channel as given, first line)."""
    return [
        (c.at.strftime("%H:%M"), str(c.params["channel"]), str(c.params["text"]).split("\n")[0])
        for c in bot.slack.calls("chat.postMessage")
        if c.ok
    ]


def pages(bot: Bot) -> list[tuple[str, str, str]]:
    """The bot's posts outside #support: its direct messages and on-call channel posts."""
    return [p for p in posts(bot) if p[1] != SUPPORT]


def dm_to(bot: Bot, user: str) -> Call:
    """The latest message the bot sent `user` directly."""
    [*_, call] = [c for c in bot.slack.calls("chat.postMessage") if c.params["channel"] == user]
    return call


def link(bot: Bot) -> str:
    """The only case's key, linked to its message, as the bot's lines show it."""
    [case] = bot.cases()
    return f"<{case.permalink}|{case.key}>"


def page_line(bot: Bot, who: str, level: str) -> str:
    """The first line of a page in the on-call channel."""
    return f":rotating_light: {who} for {link(bot)} (SEV 1), {level}."


def dm_line(bot: Bot, level: str) -> str:
    """The first line of a page sent to a person directly."""
    return f":rotating_light: You are paged for {link(bot)} (SEV 1), {level}."
