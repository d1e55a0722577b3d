"""The customer's side through `escalation-bot serve`, as an operator runs it with the
shipped policies: in a Slack Connect channel the customer (another organisation) opens a
case with :ticket: and presses SEV 1 on its card, and the first level of the chain is paged
within 5 seconds; another user of their organisation is refused."""

from __future__ import annotations

import pytest

from bot.slack.render import SET_SEVERITY_ACTION
from tests.conftest import SHIPPED_ONCALL_USERS, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = pytest.mark.slow

CUSTOMER_ORG, CUSTOMER, COLLEAGUE = "T0CUSTOMER", "U0CUSTOMR9", "U0CUSTOMR8"


def test_the_customer_raises_sev1_and_on_call_is_paged_within_5_seconds(
    db_url: str, slack: FakeSlack
) -> None:
    slack.add_user(CUSTOMER, "cora", "Cora (customer)", team_id=CUSTOMER_ORG)
    slack.add_user(COLLEAGUE, "cole", "Cole (customer)", team_id=CUSTOMER_ORG)
    proc = ServeProcess(env_for(db_url, slack)).start()
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET, slack=slack)
        ts = slack.post_user_message(SUPPORT, CUSTOMER, "All API calls return 503 since 10:02")
        event = payloads.reaction_added(
            team=CUSTOMER_ORG,
            channel=SUPPORT,
            ts=ts,
            user=CUSTOMER,
            item_user=CUSTOMER,
            authorization_team=slack.team_id,
            is_ext_shared_channel=True,
        )
        assert driver.event(event).status == 200
        assert wait_until(lambda: any(m.blocks for m in slack.posted_messages(SUPPORT)), 10)
        card = next(m for m in slack.posted_messages(SUPPORT) if m.blocks)
        case_id = next(
            e["value"].split(":")[0]
            for b in card.blocks or []
            if b.get("block_id") == "severity"
            for e in b["elements"]
        )

        def press(user: str) -> None:
            resp = driver.interaction(
                payloads.block_actions(
                    action_id=f"{SET_SEVERITY_ACTION}:sev1",
                    value=f"{case_id}:sev1",
                    user=user,
                    user_team=CUSTOMER_ORG,
                    channel=SUPPORT,
                    message_ts=card.ts,
                    team=slack.team_id,
                )
            )
            assert resp.status == 200

        press(COLLEAGUE)
        assert wait_until(lambda: bool(slack.calls("chat.postEphemeral")), 10)
        [refused] = slack.calls("chat.postEphemeral")
        assert (refused.params["user"], refused.params["text"]) == (
            COLLEAGUE,
            "Only the support team can change the severity of CASE-1.",
        )
        pressed = slack._clock.now()
        press(CUSTOMER)

        def paged() -> list:
            return [
                c
                for c in slack.calls("chat.postMessage")
                if c.ok and c.params["channel"] in SHIPPED_ONCALL_USERS
            ]

        assert wait_until(lambda: bool(paged()), 10), proc.output()
        first = paged()[0]
        link = f"https://{slack.team_domain}.slack.com/archives/{SUPPORT}/p{ts.replace('.', '')}"
        assert first.params["text"] == (
            f":rotating_light: You are paged for <{link}|CASE-1> (SEV 1 - Critical), level 1 "
            f"of the escalation chain, round 1.\nRequester: <@{CUSTOMER}>, in <#{SUPPORT}>\n"
            "> All API calls return 503 since 10:02"
        )
        assert (first.at - pressed).total_seconds() < 5
    finally:
        proc.stop()
