"""Ack throughput and latency of `escalation-bot serve` against a Bolt app that only acks.

Each target is served in its own process on 127.0.0.1; this script is the load generator
(plus `--procs` worker processes), and a FakeSlack process stands in for Slack's Web API.
Every request is a distinct, signed `reaction_added` (reaction `ticket`) event.

Phases per target, after a short warm-up:
  1. throughput: `--events` requests, closed loop over `--concurrency` keep-alive
     connections -> requests per second, p50/p99 latency;
  2. fixed rate: `--rate` events per second, open loop, for `--seconds` -> p50/p99/max
     latency measured from each request's scheduled send time, so queueing counts.
Between the phases the bot gets up to `--settle` seconds to process the backlog the first
phase left, so the second measures acks beside ordinary background work. Afterwards the
bot's database must hold exactly one `inbox_events` row per event sent.

Targets: the bot reaches at least half the minimal app's throughput, and its p99 ack at the
fixed rate stays under 50 ms.

Usage: .venv/bin/python benchmarks/bench_ack.py [--events N] [--concurrency C] [--rate R]
       [--seconds S] [--targets minimal,sqlite,postgres] [--procs P]
Exit status: 0 if every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing as mp
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bot.demo.stand_in.fake_slack import DEFAULT_TEAM_ID, FakeSlack
from bot.demo.stand_in.payloads import reaction_added
from bot.demo.stand_in.signing import encode_event, sign

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench-signing-secret"
CHANNEL = "C0BENCH0001"
REPORTER = "U0BENCHREP1"
REACTOR = "U0BENCHREA1"
MIN_RATIO = 0.5
MAX_P99_MS = 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# uvicorn closes a keep-alive connection after 5 idle seconds; don't send on one that old.
MAX_IDLE = 4.0


# -- the Slack stand-in, in its own process so its threads never hold this one's GIL ------


def _fake_slack_main(messages: int, conn: Any, stop: Any) -> None:
    with FakeSlack() as fake:
        fake.add_user(REPORTER, "reporter")
        fake.add_user(REACTOR, "reactor")
        fake.add_channel(CHANNEL, "bench-support", bot_member=True)
        stamps = [
            fake.post_user_message(CHANNEL, REPORTER, f"Checkout is failing for customer #{i}")
            for i in range(messages)
        ]
        conn.send((fake.base_url, fake.token, stamps))
        stop.wait()


# -- requests --------------------------------------------------------------------------


def build_requests(port: int, stamps: list[str], count: int, offset: int) -> list[bytes]:
    """`count` signed HTTP/1.1 requests, each a fresh event_id, cycling over the messages."""
    now = int(time.time())
    out = []
    for i in range(count):
        ts = stamps[(offset + i) % len(stamps)]
        body = encode_event(
            reaction_added(DEFAULT_TEAM_ID, CHANNEL, ts, REACTOR, "ticket", item_user=REPORTER)
        )
        headers = sign(SECRET, body, now)
        head = (
            "POST /slack/events HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        out.append(head.encode("ascii") + body)
    return out


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(port: int) -> Conn:
    return await asyncio.open_connection("127.0.0.1", port)


async def _roundtrip(conn: Conn, data: bytes) -> int:
    reader, writer = conn
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    first: float = math.inf
    last: float = 0.0
    cpu: float = 0.0
    lag: float = 0.0

    def merge(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.statuses += other.statuses
        self.errors += other.errors
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.cpu += other.cpu
        self.lag = max(self.lag, other.lag)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _closed_loop(port: int, reqs: list[bytes], concurrency: int, go: Any) -> Sample:
    sample = Sample()
    conns = [await _connect(port) for _ in range(concurrency)]
    queue = iter(reqs)
    # Wait (off the loop) until every generator process has connected.
    await asyncio.to_thread(go.wait)
    cpu0 = _cpu_seconds()

    async def worker(conn: Conn) -> None:
        for data in queue:
            t0 = time.monotonic()
            sample.first = min(sample.first, t0)
            try:
                status = await _roundtrip(conn, data)
            except (OSError, asyncio.IncompleteReadError):
                sample.errors += 1
                conn[1].close()
                conn = await _connect(port)
                continue
            t1 = time.monotonic()
            sample.last = max(sample.last, t1)
            sample.latencies.append(t1 - t0)
            sample.statuses[status] += 1
        conn[1].close()

    await asyncio.gather(*(worker(c) for c in conns))
    sample.cpu = _cpu_seconds() - cpu0
    return sample


def _closed_loop_proc(port: int, reqs: list[bytes], concurrency: int, go: Any, out: Any) -> None:
    gc.disable()  # no collector pauses in the generator while it measures
    out.put(asyncio.run(_closed_loop(port, reqs, concurrency, go)))


def closed_loop(port: int, reqs: list[bytes], concurrency: int, procs: int) -> Sample:
    """Split requests and connections over `procs` generator processes started together."""
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = max(1, min(procs, concurrency))
    workers = []
    for p in range(procs):
        share = concurrency // procs + (p < concurrency % procs)
        args = (port, reqs[p::procs], share, go, out)
        workers.append(ctx.Process(target=_closed_loop_proc, args=args, daemon=True))
    for w in workers:
        w.start()
    time.sleep(0.2)
    go.set()
    total = Sample()
    for _ in workers:
        total.merge(out.get())
    for w in workers:
        w.join()
    return total


async def _open_loop(port: int, reqs: list[bytes], rate: float, warm: int) -> Sample:
    sample = Sample()
    now = time.monotonic()
    idle = [(await _connect(port), now) for _ in range(warm)]

    async def one(data: bytes, due: float) -> None:
        # How late the generator itself is; the latency below counts it too.
        sample.lag = max(sample.lag, time.monotonic() - due)
        while idle:
            conn, used = idle.pop()
            if time.monotonic() - used < MAX_IDLE:
                break
            conn[1].close()
        else:
            conn = await _connect(port)
        try:
            status = await _roundtrip(conn, data)
        except (OSError, asyncio.IncompleteReadError):
            sample.errors += 1
            conn[1].close()
            return
        done = time.monotonic()
        sample.last = max(sample.last, done)
        sample.latencies.append(done - due)
        sample.statuses[status] += 1
        idle.append((conn, done))

    cpu0 = _cpu_seconds()
    start = sample.first = time.monotonic() + 0.05
    tasks = []
    for i, data in enumerate(reqs):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(data, due)))
    await asyncio.gather(*tasks)
    for (_, writer), _used in idle:
        writer.close()
    sample.cpu = _cpu_seconds() - cpu0
    return sample


def open_loop(port: int, reqs: list[bytes], rate: float, warm: int) -> Sample:
    gc.disable()
    try:
        return asyncio.run(_open_loop(port, reqs, rate, warm))
    finally:
        gc.enable()


# -- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def host_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def quiesce(admin_url: str | None, limit: float = 30.0) -> None:
    """Start each measurement on a quiet machine: PostgreSQL's checkpoint of the previous
    target's writes, and any background work still running, would otherwise land on
    whichever target runs next."""
    if admin_url:
        try:
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CHECKPOINT"))
            admin.dispose()
        except Exception as exc:  # not a superuser, or no PostgreSQL: measure anyway
            print(f"  (no checkpoint: {type(exc).__name__})", file=sys.stderr)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        b0 = host_busy()
        time.sleep(0.5)
        b1 = host_busy()
        if (b1[0] - b0[0]) / max(1, b1[1] - b0[1]) < 0.15:
            return


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*argv, "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with opener.open(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"server did not become ready; its output ends:\n{tail}")

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Every acked row is already committed; don't wait for the bot to drain its backlog.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Database:
    url: str
    drop: Any = None

    def inbox_counts(self, requests_only: bool = False) -> dict[str, int]:
        """Inbox rows by status; with `requests_only`, only the rows Slack's requests made,
        not those the bot writes for itself (a message to read later, an App Home to
        publish)."""
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        own = " WHERE kind NOT IN ('read_message', 'home')" if requests_only else ""
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(f"SELECT status, count(*) FROM inbox_events{own} GROUP BY status")
                ).all()
        finally:
            engine.dispose()
        return {str(s): int(n) for s, n in rows}


def sqlite_db(workdir: Path) -> Database:
    return Database(f"sqlite:///{workdir / 'bench.db'}")


def postgres_db(admin_url: str) -> Database:
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin.url.set(drivername="postgresql", database=name)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return Database(base.render_as_string(hide_password=False), drop)


# -- one target ------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    rps: float = 0.0
    tp_p50: float = 0.0
    tp_p99: float = 0.0
    fr_rate: float = 0.0
    fr_p50: float = 0.0
    fr_p99: float = 0.0
    fr_max: float = 0.0
    fr_lag: float = 0.0
    non_200: int = 0
    srv_cpu: float = 0.0
    gen_cpu: float = 0.0
    host_cpu: float = 0.0
    sent: int = 0
    acked: int = 0
    drain: float = math.nan
    inbox: dict[str, int] | None = None


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)] * 1000


def run_target(
    name: str, args: argparse.Namespace, slack: tuple[str, str, list[str]], workdir: Path
) -> Result:
    base_url, token, stamps = slack
    db: Database | None = None
    env = {
        **os.environ,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": token,
        "SLACK_API_URL": base_url,
        "POLICIES_PATH": str(ROOT / "policies"),
        "LOG_LEVEL": "WARNING",
    }
    if name == "minimal":
        argv = [PYTHON, str(ROOT / "benchmarks" / "minimal_bolt_app.py")]
    else:
        (workdir / name).mkdir()
        db = sqlite_db(workdir / name) if name == "sqlite" else postgres_db(args.pg_admin_url)
        env["DATABASE_URL"] = db.url
        argv = [PYTHON, "-m", "bot", "serve"]
    result = Result(name)
    sent = 0
    try:
        server = Server(argv, env, workdir / f"{name}.log")
        try:
            warm = build_requests(server.port, stamps, args.warmup, sent)
            sent += len(warm)
            tally = closed_loop(server.port, warm, args.concurrency, 1)

            reqs = build_requests(server.port, stamps, args.events, sent)
            sent += len(reqs)
            quiesce(args.pg_admin_url if "postgres" in args.targets else None)
            cpu0, host0 = server.cpu(), host_busy()
            tp = closed_loop(server.port, reqs, args.concurrency, args.procs)
            wall = tp.last - tp.first
            cpu1, host1 = server.cpu(), host_busy()
            lat = sorted(tp.latencies)
            result.rps = len(lat) / wall
            result.tp_p50, result.tp_p99 = pct(lat, 0.5), pct(lat, 0.99)
            result.srv_cpu = (cpu1 - cpu0) / wall * 100
            result.gen_cpu = tp.cpu / wall * 100
            result.host_cpu = (host1[0] - host0[0]) / (host1[1] - host0[1]) * 100
            tally.merge(tp)

            if db is not None and args.settle:
                result.drain = wait_for_inbox(db, args.settle)
            reqs = build_requests(server.port, stamps, int(args.rate * args.seconds), sent)
            sent += len(reqs)
            fr = open_loop(server.port, reqs, args.rate, args.concurrency)
            lat = sorted(fr.latencies)
            result.fr_rate = len(lat) / (fr.last - fr.first)
            result.fr_p50, result.fr_p99 = pct(lat, 0.5), pct(lat, 0.99)
            result.fr_max = lat[-1] * 1000 if lat else math.nan
            result.fr_lag = fr.lag * 1000
            tally.merge(fr)
            if db is not None:
                result.inbox = db.inbox_counts(requests_only=True)

            result.sent = sent
            result.acked = tally.statuses[200]
            result.non_200 = sent - result.acked
            for status, n in sorted(tally.statuses.items()):
                if status != 200:
                    print(f"  {name}: {n} responses with status {status}", file=sys.stderr)
            if tally.errors:
                print(f"  {name}: {tally.errors} connection errors", file=sys.stderr)
        finally:
            server.stop()
    finally:
        if db is not None and db.drop is not None:
            db.drop()
    return result


def wait_for_inbox(db: Database, timeout: float) -> float:
    """Seconds the bot's background job took to work off the backlog (nan if it did not)."""
    start = time.monotonic()
    while db.inbox_counts().get("pending", 0):
        if time.monotonic() - start > timeout:
            return math.nan
        time.sleep(0.25)
    return time.monotonic() - start


# -- report ----------------------------------------------------------------------------


def report(results: list[Result], ratios: dict[str, float], args: argparse.Namespace) -> bool:
    print()
    print(
        f"Throughput: {args.events} events, closed loop over {args.concurrency} connections, "
        f"{args.procs} generator process(es), {os.cpu_count()} CPUs"
    )
    head = (
        f"{'target':<9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'server CPU':>10} {'generator CPU':>13} {'host CPU':>8} {'backlog drained':>15}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        drain = "-" if r.inbox is None else "no" if math.isnan(r.drain) else f"{r.drain:.1f} s"
        print(
            f"{r.name:<9} {r.rps:>7.0f} {r.tp_p50:>7.1f} {r.tp_p99:>7.1f} "
            f"{r.srv_cpu:>9.0f}% {r.gen_cpu:>12.0f}% {r.host_cpu:>7.0f}% {drain:>15}"
        )
    print()
    print(f"Fixed rate: {args.rate:g} events/s for {args.seconds:g} s, open loop")
    head = (
        f"{'target':<9} {'acks/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'send lag ms':>11} {'non-200':>7} {'inbox rows':>10} {'pending':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        rows = pending = "-"
        if r.inbox is not None:
            rows, pending = str(sum(r.inbox.values())), str(r.inbox.get("pending", 0))
        print(
            f"{r.name:<9} {r.fr_rate:>7.1f} {r.fr_p50:>7.1f} {r.fr_p99:>7.1f} {r.fr_max:>7.1f} "
            f"{r.fr_lag:>11.1f} {r.non_200:>7} {rows:>10} {pending:>7}"
        )
    print()
    minimal = next((r for r in results if r.name == "minimal"), None)
    ok = True

    def check(passed: bool, line: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {line}")

    for r in results:
        check(r.non_200 == 0, f"{r.name}: every request acked 200 ({r.non_200} not)")
        if r.name == "minimal":
            continue
        if minimal is not None:
            ratio = ratios[r.name]
            check(
                ratio >= MIN_RATIO,
                f"{r.name}: throughput {ratio:.2f}x the minimal app's (target >= {MIN_RATIO})",
            )
        check(
            r.fr_p99 < MAX_P99_MS,
            f"{r.name}: p99 ack {r.fr_p99:.1f} ms at {args.rate:g}/s (target < {MAX_P99_MS:g})",
        )
        stored = sum((r.inbox or {}).values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted((r.inbox or {}).items()))
        check(
            stored == r.sent, f"{r.name}: {stored} inbox rows for {r.sent} events sent ({detail})"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="throughput phase requests")
    parser.add_argument("--concurrency", type=int, default=16, help="connections")
    parser.add_argument("--procs", type=int, default=1, help="generator processes")
    parser.add_argument("--rate", type=float, default=200.0, help="fixed-rate events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="fixed-rate duration")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    parser.add_argument("--messages", type=int, default=500, help="messages events cycle over")
    parser.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="wait up to this many seconds for the bot's backlog before the fixed-rate phase",
    )
    parser.add_argument("--targets", default="minimal,sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every target")
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="where to create (and drop) the run's PostgreSQL database",
    )
    args = parser.parse_args()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - {"minimal", "sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    receive, send = ctx.Pipe(duplex=False)
    fake = ctx.Process(target=_fake_slack_main, args=(args.messages, send, stop), daemon=True)
    fake.start()
    slack = receive.recv()
    rounds: list[list[Result]] = []
    try:
        for n in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
                results = []
                for name in targets:
                    print(f"round {n + 1}: running {name} ...", file=sys.stderr, flush=True)
                    results.append(run_target(name, args, slack, Path(tmp)))
                rounds.append(results)
    finally:
        stop.set()
        fake.join(timeout=10)
    return 0 if report(median_round(rounds), paired_ratios(rounds), args) else 1


def paired_ratios(rounds: list[list[Result]]) -> dict[str, float]:
    """Per target, the median over rounds of its throughput divided by the minimal app's in
    the same round. Targets are compared within a round, where they ran minutes apart on
    the same machine, never across rounds, where the machine's speed may have moved."""
    names = [r.name for r in rounds[0]]
    if "minimal" not in names:
        return {}
    base = names.index("minimal")
    ratios: dict[str, float] = {}
    if len(rounds) > 1:
        print("Throughput against the minimal app's in the same round (the median is judged):")
    for i, name in enumerate(names):
        per_round = sorted(rnd[i].rps / rnd[base].rps for rnd in rounds)
        ratios[name] = statistics.median(per_round)
        if len(rounds) > 1 and i != base:
            in_order = ", ".join(f"{rnd[i].rps / rnd[base].rps:.2f}" for rnd in rounds)
            print(f"  {name:<9} {in_order}")
    return ratios


def median_round(rounds: list[list[Result]]) -> list[Result]:
    """Per target, the round with the median throughput. Each round runs every target in
    turn, so slow drift in the machine's speed touches all of them alike."""
    if len(rounds) > 1:
        print(f"\nThroughput by round ({len(rounds)} rounds; the median round is reported):")
        for i, name in enumerate(r.name for r in rounds[0]):
            figures = ", ".join(f"{rnd[i].rps:.0f}" for rnd in rounds)
            print(f"  {name:<9} {figures} req/s")
    chosen = []
    for i in range(len(rounds[0])):
        ordered = sorted((rnd[i] for rnd in rounds), key=lambda r: r.rps)
        chosen.append(ordered[len(ordered) // 2])
    return chosen


if __name__ == "__main__":
    sys.exit(main())
