"""Timers at scale, on PostgreSQL (127.0.0.1:5432, or --pg-admin-url):

  claim   the query each pass runs to find due timers, with 1,000,000 pending timers:
          its plan (must use an index) and its time, p50/p99 over 200 runs (target < 5 ms);
  memory  resident memory of `escalation-bot serve` with 25,000, 50,000 and 100,000 open
          cases, each with a pending timer (target < 200 MB, flat as cases grow);
  lag     firing lag with 1,000 timers due per minute for --minutes minutes, through
          `serve` and a Slack stand-in: fired_at - due_at per timer, p50/p99/max (target:
          p99 at most TICK_SECONDS + 1 s).

Each part runs in its own fresh schema. Usage:
  .venv/bin/python benchmarks/bench_timers.py [--parts claim,memory,lag] [--minutes 3]
Exit status: 0 if every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Timer
from bot.demo.stand_in.fake_slack import FakeSlack
from bot.policies.loader import load_policies

ROOT = Path(__file__).resolve().parent.parent
TICK = 1.0
POLICY = """\
id: bench
name: Bench
default: true
default_severity: fast
severities:
  - id: fast
    name: Fast
    calendar: 24/7
    targets: {first_response: 1h}
"""


@contextmanager
def schema(admin_url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def seed_cases(url: str, n: int, opened: datetime, spread: timedelta, first: int = 0) -> None:
    """`n` open cases opened evenly over `spread` from `opened`, each with the breach timer
    of its one-hour first-response target, written in bulk as the bot would write them."""
    policy = load_policies(str(POLICY_FILE)).policies[0]
    engine = make_engine(url)
    step = spread / max(n, 1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO policy_snapshots (content_hash, policy_id, content, first_seen_at)"
                " VALUES (:h, :p, CAST(:c AS JSON), :t) ON CONFLICT DO NOTHING"
            ),
            {"h": policy.content_hash, "p": policy.id, "c": _json(policy.content), "t": opened},
        )
        for start in range(first, first + n, 10_000):
            rows = []
            for i in range(start, min(first + n, start + 10_000)):
                at = opened + step * (i - first)
                rows.append(
                    {
                        "number": i + 1,
                        "channel": f"C0BENCH{i % 100:03d}",
                        "ts": f"{1_700_000_000 + i}.000100",
                        "opened": at,
                        "due": at + timedelta(hours=1),
                        "hash": policy.content_hash,
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO cases (team_id, number, channel_id, message_ts, thread_ts,"
                    " requester_id, opened_by, text, status, severity, policy_id, policy_hash,"
                    " opened_at, first_response_due, updated_at) VALUES ('T0BENCH', :number,"
                    " :channel, :ts, :ts, 'U0REQ', 'U0OPEN', 'help', 'open', 'fast', 'bench',"
                    " :hash, :opened, :due, :opened)"
                ),
                rows,
            )
            conn.execute(
                text(
                    "INSERT INTO case_events (case_id, at, actor, kind, data)"
                    " SELECT id, opened_at, 'U0OPEN', 'opened',"
                    ' CAST(\'{"severity": "fast"}\' AS JSON) FROM cases'
                    " WHERE number > :lo AND number <= :hi"
                ),
                {"lo": start, "hi": start + len(rows)},
            )
            conn.execute(
                text(
                    "INSERT INTO timers (case_id, kind, target, clock_start, target_due_at,"
                    " due_at, status) SELECT id, 'breach', 'first_response', opened_at,"
                    " first_response_due, first_response_due, 'pending' FROM cases"
                    " WHERE number > :lo AND number <= :hi"
                ),
                {"lo": start, "hi": start + len(rows)},
            )
    engine.dispose()


def _json(value: object) -> str:
    import json

    return json.dumps(value)


POLICY_FILE = Path(tempfile.mkdtemp(prefix="bench-policy-")) / "bench.yaml"
POLICY_FILE.write_text(POLICY)


# -- claim --------------------------------------------------------------------------------


def bench_claim(admin_url: str) -> bool:
    with schema(admin_url) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        seed_cases(url, 1000, t0, timedelta(days=1))
        with engine.begin() as conn:
            # 1,000,000 pending timers spread over a year, on the thousand cases.
            conn.execute(
                text(
                    "INSERT INTO timers (case_id, kind, target, due_at, status)"
                    " SELECT c.id, 'reminder', 'first_response',"
                    " :t0 + (g * interval '31 seconds'), 'pending'"
                    " FROM generate_series(1, 1000000) g"
                    " JOIN cases c ON c.number = 1 + (g % 1000)"
                ),
                {"t0": t0},
            )
            conn.execute(text("ANALYZE timers"))
        sessions = make_sessionmaker(engine)
        now = t0 + timedelta(days=30)
        query = (
            select(Timer.id)
            .where(Timer.status == "pending", Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(200)
        )
        with sessions() as s:
            pending = s.execute(
                select(func.count()).select_from(Timer).where(Timer.status == "pending")
            ).scalar_one()
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = [r[0] for r in s.execute(text(f"EXPLAIN ANALYZE {compiled}"))]
            times = []
            for _ in range(200):
                started = time.perf_counter()
                s.execute(query).scalars().all()
                times.append((time.perf_counter() - started) * 1000)
        engine.dispose()
    times.sort()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    uses_index = any("ix_timers_due" in line for line in plan)
    print(f"claim: {pending} pending timers; query p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print("  plan:\n    " + "\n    ".join(plan))
    ok = uses_index and p99 < 5.0
    print(f"  target: index used and p99 < 5 ms: {'met' if ok else 'MISSED'}")
    return ok


# -- serve helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(url: str, slack: FakeSlack, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SLACK_API_URL": slack.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench-secret",
        "POLICIES_PATH": str(POLICY_FILE),
        "TICK_SECONDS": str(TICK),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return proc, base
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"serve did not start; see {log}")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


# -- memory -------------------------------------------------------------------------------


def bench_memory(admin_url: str) -> bool:
    figures = []
    with schema(admin_url) as url, FakeSlack() as slack:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        # Opened a week from now: every timer is pending for the whole measurement.
        opened = datetime.now(UTC) + timedelta(days=7)
        seeded = 0
        log = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "serve.log"
        for total in (25_000, 50_000, 100_000):
            seed_cases(url, total - seeded, opened, timedelta(days=1), first=seeded)
            seeded = total
            proc, _ = start_serve(url, slack, log)
            try:
                time.sleep(15 * TICK)  # a few passes over the whole backlog
                pids = [proc.pid, *children(proc.pid)]
                figures.append((total, rss_mb(pids), rss_mb([proc.pid])))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    for total, mb, parent in figures:
        print(
            f"memory: {total:>7} open cases: serve and its worker {mb:.0f} MB"
            f" (serve alone {parent:.0f} MB)"
        )
    ok = all(mb < 200 for _, mb, _ in figures) and figures[-1][1] - figures[0][1] < 20
    print(f"  target: under 200 MB and flat: {'met' if ok else 'MISSED'}")
    return ok


# -- lag ----------------------------------------------------------------------------------


def bench_lag(admin_url: str, minutes: int) -> bool:
    with schema(admin_url) as url, FakeSlack() as slack:
        for i in range(100):
            slack.add_channel(f"C0BENCH{i:03d}", f"bench-{i}", bot_member=True)
        engine = make_engine(url)
        migrate.upgrade(engine)
        # Breaches due from 30 s after serve starts, 1,000 a minute, one hour after opening.
        start = datetime.now(UTC) + timedelta(seconds=30)
        seed_cases(url, 1000 * minutes, start - timedelta(hours=1), timedelta(minutes=minutes))
        log = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "serve.log"
        proc, _ = start_serve(url, slack, log)
        try:
            end = start + timedelta(minutes=minutes, seconds=5 * TICK)
            while datetime.now(UTC) < end:
                time.sleep(1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            rows = s.execute(
                select(Timer.due_at, Timer.fired_at).where(Timer.fired_at.is_not(None))
            ).all()
        engine.dispose()
    lags = sorted((fired - due).total_seconds() for due, fired in rows)
    if not lags:
        print("lag: no timer fired")
        return False
    p50, p99 = statistics.median(lags), lags[int(len(lags) * 0.99) - 1]
    print(
        f"lag: {len(lags)} timers fired over {minutes} min: p50 {p50:.2f} s, p99 {p99:.2f} s,"
        f" max {lags[-1]:.2f} s (TICK_SECONDS={TICK:g})"
    )
    ok = len(lags) == 1000 * minutes and p99 <= TICK + 1
    print(f"  target: all fired, p99 <= {TICK + 1:g} s: {'met' if ok else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="claim,memory,lag")
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument(
        "--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    ok = True
    for part in args.parts.split(","):
        if part == "claim":
            ok &= bench_claim(args.pg_admin_url)
        elif part == "memory":
            ok &= bench_memory(args.pg_admin_url)
        elif part == "lag":
            ok &= bench_lag(args.pg_admin_url, args.minutes)
        else:
            parser.error(f"unknown part {part!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
