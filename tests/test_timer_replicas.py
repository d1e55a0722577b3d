"""Three `serve` processes on one PostgreSQL database, 300 cases due within a minute: each
breach alert is posted exactly once, whichever replica fires it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case
from tests.conftest import CUSTOMER, ENGINEER
from tests.support import payloads
from tests.support.db import database, quiet
from tests.support.fake_slack import FakeSlack
from tests.support.fast_timers_policy import POLICY
from tests.support.serve_process import db_rows, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CASES = 300
CHANNELS = [f"C0REPL{i:04d}" for i in range(30)]


def test_three_replicas_post_each_breach_once(slack: FakeSlack, tmp_path: Path) -> None:
    slack.relax(
        "rate_limits",
        why="300 cases opened within a minute in one workspace (600 card posts and updates): "
        "this test is about replicas and crashes sending each message once, not about "
        "pacing every Web API method within Slack's limits under such load",
    )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "chaos.yaml").write_text(POLICY)
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    with database("postgres", tmp_path) as url:
        env = env_for(url, slack, POLICIES_PATH=str(policies))
        procs = [ServeProcess(env) for _ in range(3)]
        for proc in procs:
            proc.start(wait=False)
        for proc in procs:
            proc.wait_ready()
        roots: dict[str, str] = {}
        try:
            drivers = [SlackDriver(p.url, SIGNING_SECRET) for p in procs]
            for i in range(CASES):
                channel = CHANNELS[i % len(CHANNELS)]
                ts = slack.post_user_message(channel, CUSTOMER, f"case {i}")
                roots[ts] = channel
                event = payloads.reaction_added(
                    team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
                )
                assert drivers[i % 3].event(event).status == 200

            def settled() -> bool:
                breaches = sum(":rotating_light:" in m.text for m in slack.posted_messages())
                return breaches >= CASES and db_rows(url)[1] == []

            assert wait_until(settled, timeout=300)
            assert wait_until(lambda: quiet(url))  # nothing left that could post again
        finally:
            for proc in procs:
                proc.stop()
        engine = make_engine(url)
        with make_sessionmaker(engine)() as s:
            due = {c.thread_ts: c.first_response_due for c in s.execute(select(Case)).scalars()}
        engine.dispose()

    assert len(due) == CASES
    posts = {
        c.params.get("metadata", {}).get("event_payload", {}).get("outbox_id"): c
        for c in slack.calls("chat.postMessage")
        if c.ok
    }
    lags = []
    for root, channel in roots.items():
        thread = [m for m in slack.posted_messages(channel) if m.thread_ts == root]
        breaches = [m for m in thread if ":rotating_light:" in m.text]
        assert len(breaches) == 1, (root, [m.text for m in thread])
        assert len([m for m in thread if m.blocks]) == 1
        [call] = [
            c for c in posts.values() if c.response and c.response.get("ts") == breaches[0].ts
        ]
        lags.append((call.at - due[root]).total_seconds())
    print(f"breach alert lag after due: max {max(lags):.1f} s, median {sorted(lags)[150]:.1f} s")
