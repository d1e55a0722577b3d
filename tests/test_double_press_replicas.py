"""Three `serve` processes on one PostgreSQL database, 50 cases, each changed by two
severity presses at once through different processes: one to a severity that pages, one to
one that does not. Each case ends at the severity its timeline records last, Slack is read
once per case however many processes there are, and a page climbs only for a case whose
final severity pages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case, CaseEvent, Page
from tests.conftest import CUSTOMER, ENGINEER
from tests.support import payloads
from tests.support.db import database, quiet
from tests.support.fake_slack import FakeSlack
from tests.support.serve_process import counts, env_for, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CASES = 50
LEAD = "U0DPLEAD01"
CHANNELS = [f"C0DOUBLE{i:02d}" for i in range(5)]
POLICY = f"""\
id: double
name: Double
default: true
default_severity: sev3
responders: {{users: [{ENGINEER}]}}
severities:
  - id: sev1
    name: SEV 1
    calendar: 24/7
    targets: {{first_response: 8h}}
    page: climb
  - id: sev2
    name: SEV 2
    calendar: 24/7
    targets: {{first_response: 8h}}
  - id: sev3
    name: SEV 3
    calendar: 24/7
    targets: {{first_response: 8h}}
oncall:
  escalations:
    climb:
      levels:
        - {{notify: ["user:{LEAD}"], wait: 1h}}
      repeat: 0
"""


def test_two_presses_at_once_through_two_replicas_end_consistent(
    slack: FakeSlack, tmp_path: Path
) -> None:
    slack.relax(
        "rate_limits",
        why="50 cases and 100 presses within seconds in one workspace: this test is about "
        "replicas changing one case at once, not about pacing within Slack's limits",
    )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "double.yaml").write_text(POLICY)
    slack.add_user(LEAD, "lead", "Lead")
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    with database("postgres", tmp_path) as url:
        env = env_for(url, slack, POLICIES_PATH=str(policies))
        procs = [ServeProcess(env) for _ in range(3)]
        for proc in procs:
            proc.start(wait=False)
        for proc in procs:
            proc.wait_ready()
        try:
            drivers = [SlackDriver(p.url, SIGNING_SECRET) for p in procs]
            roots = []
            for i in range(CASES):
                channel = CHANNELS[i % len(CHANNELS)]
                ts = slack.post_user_message(channel, CUSTOMER, f"case {i}")
                roots.append((channel, ts))
                event = payloads.reaction_added(
                    team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
                )
                assert drivers[i % 3].event(event).status == 200
            assert wait_until(lambda: counts(url)[0] == CASES, timeout=60)
            assert wait_until(lambda: quiet(url), timeout=60)

            def press(driver: SlackDriver, channel: str, number: int, level: str) -> None:
                body = payloads.block_actions(
                    f"set_severity:{level}", f"{number}:{level}", ENGINEER, channel, "1.1",
                    team=slack.team_id,
                )  # fmt: skip
                assert driver.interaction(body).status == 200

            engine = make_engine(url)
            with make_sessionmaker(engine)() as s:
                numbers = {
                    (c.channel_id, c.message_ts): c.number
                    for c in s.execute(select(Case)).scalars()
                }
            for i, (channel, ts) in enumerate(roots):
                number = numbers[(channel, ts)]
                both = [
                    threading.Thread(target=press, args=(drivers[i % 3], channel, number, "sev1")),
                    threading.Thread(
                        target=press, args=(drivers[(i + 1) % 3], channel, number, "sev2")
                    ),
                ]
                for t in both:
                    t.start()
                for t in both:
                    t.join()
            assert wait_until(lambda: quiet(url), timeout=120)
        finally:
            for proc in procs:
                proc.stop()
        with make_sessionmaker(engine)() as s:
            cases = list(s.execute(select(Case)).scalars())
            wrong = []
            for case in cases:
                changes = [
                    e.data.get("new")
                    for e in s.execute(
                        select(CaseEvent)
                        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "severity_changed")
                        .order_by(CaseEvent.id)
                    ).scalars()
                ]
                pages = list(s.execute(select(Page).where(Page.case_id == case.id)).scalars())
                climbing = [p for p in pages if p.status == "climbing"]
                if not changes or changes[-1] != case.severity:
                    wrong.append((case.number, "timeline", changes, case.severity))
                if (case.severity == "sev1") != bool(climbing):
                    wrong.append((case.number, "page", case.severity, [p.status for p in pages]))
        engine.dispose()
    assert wrong == []
    # One read of each reacted message, however many processes saw the case.
    reads = [c for c in slack.calls("conversations.history") if c.ok]
    assert len(reads) <= CASES
