"""The severity modal through `escalation-bot serve`, as an operator runs it, while Slack
holds the channel back with a 429: the modal still opens within the trigger's 3 seconds,
measured on the stand-in's clock of the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import counts, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = pytest.mark.slow


def test_through_serve_the_modal_opens_in_time_while_the_channel_waits_out_a_429(
    tmp_path: Path, slack: FakeSlack
) -> None:
    db = f"sqlite:///{tmp_path / 'modal.db'}"
    proc = ServeProcess(env_for(db, slack)).start()
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET, slack=slack)
        for text in ("checkout is down", "search is slow"):
            ts = slack.post_user_message(SUPPORT, CUSTOMER, text)
            event = payloads.reaction_added(
                team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            assert driver.event(event).status == 200
        assert wait_until(lambda: counts(db)[0] == 2)
        assert wait_until(lambda: len(slack.calls("chat.postMessage")) >= 2)
        # Slack holds the channel back for 10 s: the next post there gets a 429.
        slack.fail("chat.postMessage", status=429, retry_after=10)
        take = payloads.slash_command(
            "/case", "take CASE-1", user_id=ENGINEER, channel_id=SUPPORT,
            team_id=slack.team_id, response_url=slack.response_url("take"),
        )  # fmt: skip
        assert driver.command(take).status == 200
        assert wait_until(lambda: any(c.status == 429 for c in slack.calls("chat.postMessage")))

        form = payloads.slash_command(
            "/severity", "", user_id=ENGINEER, channel_id=SUPPORT,
            team_id=slack.team_id, response_url=slack.response_url("pick"),
        )  # fmt: skip
        sent = slack._clock.now()
        assert driver.command(form).status == 200
        (call,) = slack.wait_for("views.open", timeout=10)
        assert call.ok, call.response
        assert (call.at - sent).total_seconds() < 3
        options = call.params["view"]["blocks"][0]["element"]["options"]
        assert [o["value"] for o in options] == ["1", "2"]
    finally:
        proc.stop()
