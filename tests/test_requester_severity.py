"""The requester may set the severity where the policy says so, whichever organisation they
belong to: in a Slack Connect channel the customer who raised the case presses SEV1 on its
card and the chain is paged at once. Another external user never may; a requester asking for
a level the policy does not list is told privately which they may choose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.paging import LEAD, ONCALL, PRIMARY, pages, paging_bot_for
from tests.support.slash_commands import run

CUSTOMER_ORG, CUSTOMER, COLLEAGUE = "T0CUSTOMER", "U0CUSTOMR1", "U0CUSTOMR2"


def policy(requester: str) -> str:
    return f"""
id: shared
name: Shared
default: true
default_severity: sev3
requester_may_set_severity: {requester}
responders: {{users: [{ENGINEER}]}}
severities:
  - {{id: sev1, name: SEV 1, calendar: 24/7, targets: {{first_response: 15m}}, page: urgent}}
  - {{id: sev2, name: SEV 2, calendar: 24/7, targets: {{first_response: 1h}}}}
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
        - {{notify: ["user:{LEAD}"], wait: 15m}}
      channel: {ONCALL}
"""


@pytest.fixture
def make(db_url: str, tmp_path: Path) -> Iterator[object]:
    made: list[Iterator[Bot]] = []

    def start(requester: str) -> Bot:
        gen = paging_bot_for(db_url, tmp_path, policy(requester))
        made.append(gen)
        bot = next(gen)
        bot.slack.add_user(CUSTOMER, "cora", "Cora (customer)", team_id=CUSTOMER_ORG)
        bot.slack.add_user(COLLEAGUE, "cole", "Cole (customer)", team_id=CUSTOMER_ORG)
        return bot

    yield start
    for gen in made:
        for _ in gen:
            pass


def customer_opens_a_case(bot: Bot) -> str:
    """The customer writes in the shared channel and reacts :ticket: to it themselves."""
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, "checkout returns 500 for everyone")
    event = payloads.reaction_added(
        team=CUSTOMER_ORG,
        channel=SUPPORT,
        ts=ts,
        user=CUSTOMER,
        item_user=CUSTOMER,
        authorization_team=bot.slack.team_id,
        is_ext_shared_channel=True,
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    return ts


def press(bot: Bot, user: str, level: str) -> list[str]:
    """`user` of the customer's organisation presses `level` on the card; returns what the
    bot told them privately."""
    [case] = bot.cases()
    card = next(m for m in bot.slack.posted_messages(SUPPORT) if m.blocks)
    before = len(bot.slack.calls("chat.postEphemeral"))
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=f"{SET_SEVERITY_ACTION}:{level}",
            value=f"{case.id}:{level}",
            user=user,
            user_team=CUSTOMER_ORG,
            channel=SUPPORT,
            message_ts=card.ts,
            team=bot.slack.team_id,
        )
    )
    assert resp.status == 200
    bot.settle()
    return [
        str(c.params["text"])
        for c in bot.slack.calls("chat.postEphemeral")[before:]
        if c.params["user"] == user
    ]


def test_the_customer_raises_sev1_in_the_shared_channel_and_the_chain_is_paged(make) -> None:
    bot = make("true")
    customer_opens_a_case(bot)
    [case] = bot.cases()
    assert (case.requester_id, case.shared, case.severity) == (CUSTOMER, True, "sev3")
    assert press(bot, CUSTOMER, "sev1") == []
    [case] = bot.cases()
    assert case.severity == "sev1"
    # Paged at the instant of the press: level 1 (the schedule's person) by DM.
    at = bot.clock.now().strftime("%H:%M")
    assert [p for p in pages(bot) if p[1] == PRIMARY] == [(at, PRIMARY, pages(bot)[0][2])]


def test_another_external_user_is_refused(make) -> None:
    bot = make("true")
    customer_opens_a_case(bot)
    assert press(bot, COLLEAGUE, "sev1") == [
        "Only the support team can change the severity of CASE-1."
    ]
    [case] = bot.cases()
    assert case.severity == "sev3"
    assert pages(bot) == []


def test_a_list_limits_the_requesters_levels_and_says_which(make) -> None:
    bot = make("[sev1, SEV 2]")
    customer_opens_a_case(bot)
    assert press(bot, CUSTOMER, "sev3") == [
        "As the requester of CASE-1 you may set its severity to SEV 1 or SEV 2; ask the "
        "support team in the thread for SEV 3."
    ]
    assert press(bot, CUSTOMER, "sev2") == []
    [case] = bot.cases()
    assert case.severity == "sev2"


def test_false_refuses_the_requester(make) -> None:
    bot = make("false")
    customer_opens_a_case(bot)
    assert press(bot, CUSTOMER, "sev1") == [
        "Only the support team can change the severity of CASE-1."
    ]
    [case] = bot.cases()
    assert case.severity == "sev3"


def test_the_requesters_command_follows_the_same_rule(make) -> None:
    bot = make("[sev1]")
    customer_opens_a_case(bot)
    assert run(bot, "/severity", "CASE-1 sev2 it is getting worse", user=CUSTOMER)[2] == [
        "As the requester of CASE-1 you may set its severity to SEV 1; ask the support team "
        "in the thread for SEV 2."
    ]
    assert run(bot, "/severity", "CASE-1 sev1", user=CUSTOMER)[2] == ["CASE-1 is now SEV 1."]
    [case] = bot.cases()
    assert case.severity == "sev1"
