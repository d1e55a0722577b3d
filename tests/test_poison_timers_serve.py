"""From outside: `serve` with 20 cases, one of them made bad directly in the database. The
other 19 get their card, reminder and breach alert; the bad one's timers are parked with
their reason, said in at most 3 log lines, and counted on /metrics."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Timer
from tests.conftest import CUSTOMER, ENGINEER
from tests.support import payloads
from tests.support.fake_slack import FakeSlack
from tests.support.fast_timers_policy import POLICY
from tests.support.serve_process import counts, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = pytest.mark.slow

CASES = 20
CHANNELS = [f"C0POISON{i:02d}" for i in range(4)]


def test_one_bad_case_never_holds_up_the_others(slack: FakeSlack, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "chaos.yaml").write_text(POLICY)
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    db = f"sqlite:///{tmp_path / 'poison.db'}"
    proc = ServeProcess(env_for(db, slack, POLICIES_PATH=str(policies), LOG_LEVEL="INFO")).start()
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET)
        roots = []
        for i in range(CASES):
            channel = CHANNELS[i % len(CHANNELS)]
            ts = slack.post_user_message(channel, CUSTOMER, f"case {i}")
            roots.append(ts)
            event = payloads.reaction_added(
                team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
            )
            assert driver.event(event).status == 200
        assert wait_until(lambda: counts(db)[0] == CASES)
        bad = roots[0]
        engine = make_engine(db)
        with engine.begin() as conn:
            # A policy snapshot that no longer loads, for the first case only.
            conn.execute(
                text(
                    "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                    " SELECT 'broken', policy_id, :content, first_seen_at FROM policy_snapshots"
                ),
                {"content": json.dumps({"id": "broken"})},
            )
            conn.execute(
                text("UPDATE cases SET policy_hash = 'broken' WHERE message_ts = :ts"), {"ts": bad}
            )

        def alerts(ts: str) -> set[str]:
            return {
                m.text.split(" ")[0]
                for m in slack.posted_messages()
                if m.thread_ts == ts and m.text.startswith((":hourglass", ":rotating_light:"))
            }

        good = roots[1:]
        # Each good case: its reminder at 20 s and its breach alert at 40 s.
        assert wait_until(
            lambda: all(
                alerts(ts) == {":hourglass_flowing_sand:", ":rotating_light:"} for ts in good
            ),
            timeout=120,
        ), proc.output()[-3000:]
        with make_sessionmaker(engine)() as session:
            parked = session.execute(
                select(Timer.kind, Timer.note).where(Timer.status == "parked")
            ).all()
        engine.dispose()
        assert sorted(kind for kind, _ in parked) == ["breach", "reminder"]
        assert {note for _, note in parked} == {"ValidationError: 2 validation errors for Policy"}
        assert alerts(bad) == set()
        lines = [line for line in proc.output().splitlines() if "parked" in line]
        assert 1 <= len(lines) <= 3, "\n".join(line[-160:] for line in lines)
        with urllib.request.urlopen(proc.url + "/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        assert 'escbot_timers_parked_total{kind="reminder"} 1.0' in metrics.splitlines()
        assert 'escbot_timers_parked_total{kind="breach"} 1.0' in metrics.splitlines()
    finally:
        proc.stop()
