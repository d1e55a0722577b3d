"""Timers through crashes: `escalation-bot serve` SIGKILLed at random moments while a
hundred cases' reminders and breaches fire, and restarted each time. Every breach alert is
posted exactly once, no reminder comes after its own breach, and nothing is lost."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case
from tests.conftest import CUSTOMER, ENGINEER
from tests.support import payloads
from tests.support.db import quiet
from tests.support.fake_slack import FakeSlack
from tests.support.fast_timers_policy import POLICY
from tests.support.serve_process import db_rows, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = pytest.mark.slow

CASES = 100
CHANNELS = [f"C0CHAOS{i:03d}" for i in range(10)]


def test_sigkill_at_random_moments_while_timers_fire(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.relax(
        "rate_limits",
        why="100 cases due within a minute in one workspace: "
        "this test is about replicas and crashes sending each message once, not about "
        "pacing every Web API method within Slack's limits under such load",
    )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "chaos.yaml").write_text(POLICY)
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    env = env_for(db_url, slack, POLICIES_PATH=str(policies))
    proc = ServeProcess(env).start()
    roots: dict[str, str] = {}
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        for i in range(CASES):
            channel = CHANNELS[i % len(CHANNELS)]
            ts = slack.post_user_message(channel, CUSTOMER, f"case {i}")
            roots[ts] = channel
            event = payloads.reaction_added(
                team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            assert driver.event(event).status == 200
        started = time.monotonic()
        rng = random.Random(20261201)
        for at in sorted(rng.uniform(2.0, 50.0) for _ in range(5)):
            time.sleep(max(0.0, started + at - time.monotonic()))
            proc.kill()
            proc = ServeProcess(env, port=proc.port).start()

        def settled() -> bool:
            breaches = sum(":rotating_light:" in m.text for m in slack.posted_messages())
            return breaches >= CASES and db_rows(db_url)[1] == []

        assert wait_until(settled, timeout=240)
        assert wait_until(lambda: quiet(db_url))  # nothing left that could post again
    finally:
        proc.stop()

    cases, left = db_rows(db_url)
    assert cases == CASES
    assert left == []
    for root, channel in roots.items():
        thread = [m for m in slack.posted_messages(channel) if m.thread_ts == root]
        kinds = [
            "card" if m.blocks else "breach" if ":rotating_light:" in m.text else "reminder"
            for m in thread
        ]
        assert kinds.count("card") == 1, (root, kinds)
        assert kinds.count("breach") == 1, (root, kinds)
        assert "reminder" not in kinds[kinds.index("breach") :], (root, kinds)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_down_for_20_seconds_five_times_no_reminder_reaches_slack_after_its_due_time(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    """serve SIGKILLed and kept down 20 s, five times at seeded random moments across the
    reminder window: reminders that could not go out in time are never sent late."""
    slack.relax(
        "rate_limits",
        why="100 cases due within a minute in one workspace: "
        "this test is about crashes and downtime, not about pacing every Web API method "
        "within Slack's limits under such load",
    )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "chaos.yaml").write_text(POLICY)
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    env = env_for(db_url, slack, POLICIES_PATH=str(policies))
    proc = ServeProcess(env).start()
    roots: dict[str, str] = {}
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        for i in range(CASES):
            channel = CHANNELS[i % len(CHANNELS)]
            ts = slack.post_user_message(channel, CUSTOMER, f"case {i}")
            roots[ts] = channel
            event = payloads.reaction_added(
                team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            assert driver.event(event).status == 200
        rng = random.Random(20261205)
        for _ in range(5):
            time.sleep(rng.uniform(0.5, 4.0))  # up for a while, then down for 20 s
            proc.kill()
            time.sleep(20.0)
            proc = ServeProcess(env, port=proc.port).start()

        def settled() -> bool:
            breaches = sum(":rotating_light:" in m.text for m in slack.posted_messages())
            return breaches >= CASES and db_rows(db_url)[1] == []

        assert wait_until(settled, timeout=240)
        assert wait_until(lambda: quiet(db_url))
    finally:
        proc.stop()

    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        due = {c.thread_ts: c.first_response_due for c in s.execute(select(Case)).scalars()}
    engine.dispose()
    late = []
    for call in slack.calls("chat.postMessage"):
        text = str(call.params.get("text") or "")
        root = call.params.get("thread_ts")
        reminder = call.ok and text.startswith(":hourglass") and root in due
        if reminder and call.at >= due[root]:
            late.append((root, call.at, due[root]))
    assert late == []
    for root, channel in roots.items():
        thread = [m for m in slack.posted_messages(channel) if m.thread_ts == root]
        breaches = [m for m in thread if ":rotating_light:" in m.text]
        assert len(breaches) == 1, root
