"""An acknowledgement means "mine": acknowledging a page by its button, `/case ack` or the
emoji assigns an unassigned case to whoever acknowledged, and the reminders that follow name
them. An assigned case keeps its assignee; `/case take` on a paged case answers its page.
With nobody assigned and no responders, a reminder names whoever the severity's chain would
page first at that instant."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.bot_messages import due, thread_lines
from tests.support.buttons import press_ack
from tests.support.cases import open_case
from tests.support.clock import forward
from tests.support.paging import LEAD, ONCALL, PRIMARY, SECOND, dm_to, paging_bot_for
from tests.support.slash_commands import run


def policy(responders: str) -> str:
    return f"""
id: acks
name: Acks
default: true
default_severity: sev1
{responders}
severities:
  - id: sev1
    name: SEV 1
    calendar: 24/7
    targets: {{first_response: 1h}}
    reminders: ["30m before"]
    page: urgent
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
        - {{notify: ["user:{LEAD}"], wait: 15m}}
      channel: {ONCALL}
"""


WITH_RESPONDERS = policy(f"responders: {{users: [{ENGINEER}]}}")
# 04:00 UTC on Saturday 10 January 2026: the first response of a case opened at 03:00.
DUE_AT_FOUR = due("1768017600", "Sat 10 Jan 2026 04:00 UTC")


def acknowledge(bot: Bot, how: str) -> list[str]:
    """PRIMARY acknowledges the page they got, the way `how` says; returns the private
    answers."""
    page = dm_to(bot, PRIMARY)
    assert page.response is not None
    if how == "button":
        return press_ack(bot, page, PRIMARY)
    if how == "command":
        return run(bot, "/case", "ack CASE-1", user=PRIMARY, channel=page.response["channel"])[2]
    before = len(bot.slack.calls("chat.postEphemeral"))
    event = payloads.reaction_added(
        team=bot.slack.team_id,
        channel=page.response["channel"],
        ts=page.response["ts"],
        user=PRIMARY,
        reaction="eyes",
        item_user=bot.slack.bot_user_id,
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return [str(c.params["text"]) for c in bot.slack.calls("chat.postEphemeral")[before:]]


@pytest.mark.parametrize("how", ["button", "command", "emoji"])
def test_an_acknowledgement_takes_the_case_and_the_next_reminder_names_them(
    db_url: str, tmp_path: Path, how: str
) -> None:
    for bot in paging_bot_for(db_url, tmp_path, WITH_RESPONDERS):
        root = open_case(bot)  # Saturday 03:00, SEV 1: due 04:00, reminder 03:30
        forward(bot, 1)
        assert acknowledge(bot, how) == [
            "You acknowledged the page for CASE-1 and took it: paging has stopped."
        ]
        [case] = bot.cases()
        assert case.assignee_id == PRIMARY
        card = bot.slack.message(SUPPORT, case.card_ts)
        assigned = [
            f["text"]
            for b in card.blocks or []
            for f in b.get("fields") or []
            if f["text"].startswith("*Assigned to*")
        ]
        assert assigned == [f"*Assigned to*\n<@{PRIMARY}>"]
        forward(bot, 29)  # 03:30
        assert thread_lines(bot, root)[-1] == (
            f":hourglass_flowing_sand: CASE-1: first response due {DUE_AT_FOUR}, in 30 min. "
            f"<@{PRIMARY}>"
        )


def test_an_assigned_case_keeps_its_assignee(db_url: str, tmp_path: Path) -> None:
    for bot in paging_bot_for(db_url, tmp_path, WITH_RESPONDERS):
        root = open_case(bot)
        assert run(bot, "/case", f"assign CASE-1 <@{LEAD}>")[2] == [
            f"CASE-1 is assigned to <@{LEAD}>."
        ]
        forward(bot, 1)
        assert acknowledge(bot, "button") == [
            "You acknowledged the page for CASE-1: paging has stopped."
        ]
        [case] = bot.cases()
        assert case.assignee_id == LEAD
        announced = [line for line in thread_lines(bot, root) if line.startswith(":eyes:")]
        assert announced == [
            f":eyes: <@{PRIMARY}> acknowledged the page for <{case.permalink}|CASE-1> "
            f"{due('1768014060', 'Sat 10 Jan 2026 03:01 UTC')}; paging has stopped."
        ]
        forward(bot, 29)
        assert thread_lines(bot, root)[-1].endswith(f"in 30 min. <@{LEAD}>")


def test_taking_a_paged_case_acknowledges_its_page(db_url: str, tmp_path: Path) -> None:
    for bot in paging_bot_for(db_url, tmp_path, WITH_RESPONDERS):
        open_case(bot)
        assert run(bot, "/case", "take CASE-1")[2] == [
            "You have CASE-1; its page is acknowledged: paging has stopped."
        ]
        [case] = bot.cases()
        assert case.assignee_id == ENGINEER
        forward(bot, 30)  # level 2 was due at 03:10: nobody else is paged
        assert [c.params["channel"] for c in bot.slack.calls("chat.postMessage")].count(LEAD) == 0


def test_with_nobody_assigned_and_no_responders_the_reminder_names_who_is_on_call_then(
    db_url: str, tmp_path: Path
) -> None:
    # The rotation hands from PRIMARY to SECOND on Monday 12 January 09:00 Berlin (08:00
    # UTC). A case opened at 07:15 UTC is due 08:15; its reminder fires at 07:45, when
    # PRIMARY is on call; one opened at 07:45 reminds at 08:15, when SECOND is.
    for bot in paging_bot_for(db_url, tmp_path, policy("")):
        bot.clock.set(datetime(2026, 1, 12, 7, 15, tzinfo=UTC))
        bot.settle()
        first = open_case(bot)
        forward(bot, 30)  # 07:45
        second = open_case(bot)
        forward(bot, 30)  # 08:15
        [reminder] = [line for line in thread_lines(bot, first) if line.startswith(":hourglass")]
        assert reminder == (
            ":hourglass_flowing_sand: CASE-1: first response due "
            f"{due('1768205700', 'Mon 12 Jan 2026 08:15 UTC')}, in 30 min. <@{PRIMARY}>"
        )
        [reminder] = [line for line in thread_lines(bot, second) if line.startswith(":hourglass")]
        assert reminder == (
            ":hourglass_flowing_sand: CASE-2: first response due "
            f"{due('1768207500', 'Mon 12 Jan 2026 08:45 UTC')}, in 30 min. <@{SECOND}>"
        )
