"""Three `serve` processes on one PostgreSQL database and a process SIGKILLed mid-climb:
twenty SEV1 cases climb a three-level chain, and every page, each level's direct message
and its post in the chain's channel, is sent exactly once; none is lost.

On PostgreSQL `serve` runs its background work in a worker child, which finishes what it is
doing when only its parent dies. So the kill takes both at once, as a lost machine or an
OOM-killed container would: a post in flight is never answered."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case, OutboxMessage, Page, Timer
from bot.oncall.paging import STEP
from bot.slack.lookup import LOOKUP_PAGE, LOOKUP_PAGES
from tests.conftest import CUSTOMER, ENGINEER
from tests.support import payloads
from tests.support.db import database, quiet
from tests.support.fake_slack import Call, FakeSlack
from tests.support.serve_process import child_pids, db_rows, env_for, is_alive, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CASES = 20
LEVELS = ("U0LEVEL001", "U0LEVEL002", "U0LEVEL003")
ONCALL = "C0PAGEONC1"
CHANNELS = [f"C0PAGEREP{i}" for i in range(4)]
HOLD = 3.0  # seconds the stand-in holds a post, so the kill lands while one is in flight
POLICY = f"""\
id: replicas
name: Replicas
default: true
default_severity: sev1
severities:
  - id: sev1
    name: SEV 1
    calendar: 24/7
    targets: {{first_response: 8h}}
    page: climb
oncall:
  escalations:
    climb:
      levels:
        - {{notify: ["user:{LEVELS[0]}"], wait: 3s}}
        - {{notify: ["user:{LEVELS[1]}"], wait: 3s}}
        - {{notify: ["user:{LEVELS[2]}"], wait: 3s}}
      repeat: 0
      channel: {ONCALL}
"""


def first_line(call: Call) -> str:
    return str(call.params["text"]).split("\n")[0]


def button(call: Call) -> str:
    [value] = [
        e["value"] for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    return str(value)


def sent_pages(slack: FakeSlack) -> list[Call]:
    """Every page Slack holds: the killed process's last post counts, answered or not."""
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.ok and c.params["channel"] in (*LEVELS, ONCALL)
    ]


def test_three_replicas_and_a_sigkill_send_each_page_once(slack: FakeSlack, tmp_path: Path) -> None:
    slack.relax(
        "rate_limits",
        why="120 pages to one on-call channel and three people within two minutes: "
        "this test is about replicas and crashes sending each message once, not about "
        "pacing every Web API method within Slack's limits under such load",
    )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "replicas.yaml").write_text(POLICY)
    for i, user in enumerate(LEVELS):
        slack.add_user(user, f"level{i + 1}", f"Level {i + 1}")
    slack.add_channel(ONCALL, "oncall", bot_member=True)
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
            for i in range(CASES):
                channel = CHANNELS[i % len(CHANNELS)]
                ts = slack.post_user_message(channel, CUSTOMER, f"outage {i}")
                event = payloads.reaction_added(
                    team=slack.team_id, channel=channel, ts=ts, user=ENGINEER, item_user=CUSTOMER
                )
                assert drivers[i % 3].event(event).status == 200

            # Mid-climb: level 2 has begun and level 3 is still to come.
            assert wait_until(
                lambda: any(c.params["channel"] == LEVELS[1] for c in sent_pages(slack)),
                timeout=20,
            )
            assert not any(c.params["channel"] == LEVELS[2] for c in sent_pages(slack))
            # Hold the next three posts. Each worker sends one at a time, so three held at
            # once, none answered yet, means every worker has one in flight: the killed
            # one dies without hearing whether Slack has its post.
            slack.delay("chat.postMessage", HOLD, times=3)
            assert wait_until(lambda: slack.pending_faults("chat.postMessage") == 0, timeout=10)
            assert [c for c in slack.calls() if c.fault] == []
            assert procs[0].proc is not None
            [worker] = child_pids(procs[0].proc.pid)
            os.kill(worker, signal.SIGKILL)
            procs[0].kill()
            assert wait_until(lambda: not is_alive(worker), timeout=5)
            procs[0] = ServeProcess(env, port=procs[0].port).start()

            def settled() -> bool:
                return len(sent_pages(slack)) >= 2 * len(LEVELS) * CASES and db_rows(url)[1] == []

            # The dead process's claim on its post lapses after the outbox lease (15 s).
            assert wait_until(settled, timeout=45)
            assert wait_until(lambda: quiet(url))  # nothing left that could post again
        finally:
            for proc in procs:
                proc.stop()
        engine = make_engine(url)
        with make_sessionmaker(engine)() as s:
            cases = list(s.execute(select(Case).order_by(Case.number)).scalars())
            pages = {p.case_id: p.id for p in s.execute(select(Page)).scalars()}
            statuses = Counter(s.execute(select(Page.status)).scalars())
            steps = Counter(
                s.execute(select(Timer.target, Timer.status).where(Timer.kind == STEP)).all()
            )
            outbox = Counter(
                s.execute(
                    select(OutboxMessage.intent, OutboxMessage.status).where(
                        OutboxMessage.intent.like("page%")
                    )
                ).all()
            )
        engine.dispose()
        _, left = db_rows(url)

    assert len(cases) == CASES
    assert len(pages) == CASES  # one page per case
    assert statuses == {"climbing": CASES}  # nobody acknowledged; the climb just ran out
    # Each step fired once and acted; nothing is pending, nothing was dropped.
    assert steps == {(f"{pages[c.id]}/{n}", "fired"): 1 for c in cases for n in range(3)}
    assert outbox == {("page_dm", "sent"): 3 * CASES, ("page_post", "sent"): 3 * CASES}
    assert left == []  # no outbox row failed or is still waiting

    expected: Counter[tuple[str, str, str]] = Counter()
    for case in cases:
        link = f"<{case.permalink}|{case.key}>"
        value = f"{case.number}:{pages[case.id]}"
        for level, user in enumerate(LEVELS, start=1):
            where = f"(SEV 1), level {level} of the escalation chain, round 1."
            expected[(user, f":rotating_light: You are paged for {link} {where}", value)] += 1
            expected[(ONCALL, f":rotating_light: <@{user}> paged for {link} {where}", value)] += 1
    got = Counter((str(c.params["channel"]), first_line(c), button(c)) for c in sent_pages(slack))
    assert got == expected  # every page, once: nothing missing, nothing duplicated
    # The killed process's posts, the rows it left claimed, were looked up by their metadata
    # (and found, as nothing is duplicated) rather than posted blind. It had at most two in
    # flight: one from its main pass and one from its page lane.
    lookups = [
        c
        for c in slack.calls()
        if c.method in ("conversations.history", "conversations.replies")
        and "include_all_metadata" in c.params
    ]
    # Read narrowly: one conversation per row, from the row's creation on, 15 messages a
    # page, a few pages at most (the busy on-call channel holds every page's post).
    shown = [(c.method, c.params) for c in lookups]
    read = Counter(str(c.params["channel"]) for c in lookups)
    assert 1 <= len(read) <= 2, shown
    assert all(1 <= n <= LOOKUP_PAGES for n in read.values()), shown
    assert all(c.params["limit"] == str(LOOKUP_PAGE) and "oldest" in c.params for c in lookups)
