"""Soak: `escalation-bot serve` under steady load while its database misbehaves.

Tickets arrive at `--rate` a second for `--seconds`, round-robin over `--channels` channels
of a Slack stand-in that enforces Slack's rate limits; a responder answers a third of the
cases in their threads. Meanwhile the bot role's database connections are killed every
20 s, new connections are refused for 10 s once, and `cases` is locked for 8 s once. Then
the script waits for the bot's outbox to drain and checks, from the stand-in's record of
every post and the bot's own rows, that nothing was lost, doubled or late.

Every instant compared is this machine's wall clock: the stand-in's message ts, the bot's
stored instants and the load generator's `time.time()`.

Usage: .venv/bin/python benchmarks/soak.py [--seconds 180] [--rate 4] [--channels 10]
       [--no-faults] [--keep]
Exit status: 0 if every target is met, 1 if one is missed, 2 if the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_slack import Posted, StandIn

from bot.demo.stand_in.payloads import message, reaction_added
from bot.demo.stand_in.signing import RETRY_NUM_HEADER, RETRY_REASON_HEADER, encode_event, sign

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "soak-signing-secret"

REQUESTERS = [(f"U0SOAKREQ{i:02d}", f"customer-{i}") for i in range(1, 6)]
RESPONDERS = [(f"U0SOAKRSP{i:02d}", f"engineer-{i}") for i in range(1, 4)]
ONCALL = ("U0SOAKONC01", "on-call")
TRIAGE = ("C0SOAKTRIAGE", "support-triage")

# The short targets (seconds) of the policies below; a third kind of channel waits an hour.
PAGING_TARGET = 30  # and a reminder 10 s before; its breach pages the on-call engineer
FAST_TARGET = 60  # and a reminder at half time
REPLY_AFTER = 5.0  # a responder answers this long after the card, before any reminder

# Targets.
CARD_P99 = 15.0
BREACH_P99 = 15.0
PAGE_MAX = 5.0
DRAIN_MAX = 60.0
ACK_MAX = 3.0  # Slack gives up on a request after 3 s and retries it
OBSERVE_MAX = 120.0  # after the load: how long to wait for the outbox at most
# Slack retries a delivery that failed or took over 3 s: at once, after a minute, after
# five (api.slack.com/apis/events-api#retries); the run is over before the third.
RETRY_AFTER = (1.0, 60.0)
HTTP_TIMEOUT = 10.0

CARD_RE = re.compile(r"^(CASE-\d+) opened\b")


# -- the policies ------------------------------------------------------------------------


def policies(channels: list[str]) -> dict[str, str]:
    """Three contracts over the channels: a fifth whose 30 s target pages on-call when
    missed, two fifths with a 60 s target, the rest an hour (nothing due during the run)."""
    n = len(channels)
    paging = channels[: max(1, n // 5)]
    fast = channels[len(paging) : len(paging) + max(1, 2 * n // 5)]
    responders = ", ".join(u for u, _ in RESPONDERS)
    return {
        "soak-paging.yaml": f"""\
id: soak-paging
name: Soak, paging
channels: [{", ".join(paging)}]
responders: {{users: [{responders}]}}
default_severity: urgent
severities:
  - id: urgent
    name: Urgent
    calendar: 24/7
    targets: {{first_response: {PAGING_TARGET}s}}
    reminders: ["10s before"]
    on_breach: {{page: breach}}
oncall:
  schedules:
    soak-oncall:
      timezone: UTC
      layers:
        - rotation: [{ONCALL[0]}]
          shift: 1w
          start: "2026-01-05 09:00"
  escalations:
    breach:
      levels:
        - {{notify: ["schedule:soak-oncall"], wait: 1h}}
""",
        "soak-fast.yaml": f"""\
id: soak-fast
name: Soak, fast
channels: [{", ".join(fast)}]
responders: {{users: [{responders}]}}
default_severity: high
severities:
  - id: high
    name: High
    calendar: 24/7
    targets: {{first_response: {FAST_TARGET}s}}
    reminders: ["50%"]
""",
        "soak-slow.yaml": f"""\
id: soak-slow
name: Soak, slow
default: true
responders: {{users: [{responders}]}}
default_severity: normal
severities:
  - id: normal
    name: Normal
    calendar: 24/7
    targets: {{first_response: 1h}}
    reminders: ["50%"]
""",
    }


# -- the database ------------------------------------------------------------------------


class Database:
    """A fresh database owned by a role of its own that is not a superuser, so the
    superuser's faults (terminating backends, locks, NOLOGIN) work on the bot."""

    def __init__(self, admin: str, keep: bool) -> None:
        self.name = self.role = f"soak_{os.getpid()}"
        self.keep = keep
        self._admin = admin
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{self.role}"')
            conn.execute(f'CREATE ROLE "{self.role}" LOGIN')
            conn.execute(f'CREATE DATABASE "{self.name}" OWNER "{self.role}"')
        info = psycopg.conninfo.conninfo_to_dict(admin)
        host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
        self.bot_url = f"postgresql+psycopg://{self.role}@{host}:{port}/{self.name}"
        self.su_dsn = psycopg.conninfo.make_conninfo(admin, dbname=self.name)

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._admin, autocommit=True, connect_timeout=10)

    def su(self, autocommit: bool = True) -> psycopg.Connection[Any]:
        """The superuser on the bot's database, with a statement timeout: the monitor
        never waits on the bot's locks (or the benchmark's own)."""
        conn = psycopg.connect(self.su_dsn, autocommit=autocommit, connect_timeout=10)
        conn.execute("SET statement_timeout = '5s'")
        return conn

    def drop(self) -> None:
        if self.keep:
            print(f"kept database {self.name} (role {self.role})", file=sys.stderr)
            return
        with self.admin() as conn:
            conn.execute(f'ALTER ROLE "{self.role}" LOGIN')
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{self.role}"')


# -- the bot -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


class Serve:
    """`escalation-bot serve` as its own process (it starts its worker on PostgreSQL)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.children: list[int] = []
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with opener.open(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        # The worker starts beside the server; give it a moment to appear.
                        for _ in range(50):
                            self.children = child_pids(self.proc.pid)
                            if self.children:
                                break
                            time.sleep(0.1)
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not become ready; its log ends:\n{self.tail()}")

    def settle(self, limit: float = 30.0) -> None:
        """Wait until the worker has started (its memory stops growing), so the load and
        the first memory reading meet a bot that is up."""
        deadline = time.monotonic() + limit
        last = -1.0
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.rss()[1]
            if not math.isnan(now) and abs(now - last) < 0.5:
                return
            last = now

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def rss(self) -> tuple[float, float]:
        """(serve, its worker) resident memory in MB."""
        kids = child_pids(self.proc.pid) or self.children
        return rss_mb(self.proc.pid), sum(rss_mb(p) for p in kids) if kids else math.nan

    def stop(self) -> None:
        self.children = child_pids(self.proc.pid) or self.children
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in self.children:  # a worker left behind by a killed server
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def migrate(db: Database, workdir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": db.bot_url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [PYTHON, "-m", "bot", "db", "upgrade"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migration failed: {done.stderr.strip()[-2000:]}")


# -- faults ------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    start: float
    end: float
    detail: str = ""


class Faults:
    """The database faults, each on a thread of its own so that none delays another."""

    def __init__(self, db: Database, seconds: float, t0: float) -> None:
        self.db = db
        self.t0 = t0
        self.log: list[Fault] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        kills = [float(t) for t in range(20, int(seconds), 20)]
        self._threads = [
            threading.Thread(target=self._guard, args=(self._terminations, kills), daemon=True),
            threading.Thread(target=self._guard, args=(self._refuse, seconds * 0.25), daemon=True),
            threading.Thread(
                target=self._guard, args=(self._lock_cases, seconds * 0.6), daemon=True
            ),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)

    def _guard(self, fn: Callable[[Any], None], arg: Any) -> None:
        try:
            fn(arg)
        except Exception as exc:
            self.errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")

    def _wait_until(self, offset: float) -> bool:
        """Sleep until t0 + offset; False when the run stops first."""
        return not self._stop.wait(max(0.0, self.t0 + offset - time.time()))

    def _record(self, kind: str, start: float, end: float, detail: str = "") -> None:
        with self._lock:
            self.log.append(Fault(kind, start, end, detail))
        print(f"  fault at {start - self.t0:6.1f} s: {kind} {detail}", file=sys.stderr, flush=True)

    def _terminate(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
            (self.db.role,),
        ).fetchone()
        return int(row[0]) if row else 0

    def _terminations(self, at: list[float]) -> None:
        with self.db.su() as conn:
            for offset in at:
                if not self._wait_until(offset):
                    return
                start = time.time()
                n = self._terminate(conn)
                self._record("terminate", start, time.time(), f"{n} backends")

    def _refuse(self, offset: float) -> None:
        if not self._wait_until(offset):
            return
        with self.db.su() as conn:
            start = time.time()
            conn.execute(f'ALTER ROLE "{self.db.role}" NOLOGIN')
            n = self._terminate(conn)
            try:
                self._stop.wait(10.0)
            finally:
                conn.execute(f'ALTER ROLE "{self.db.role}" LOGIN')
            self._record("refuse connections", start, time.time(), f"NOLOGIN, {n} backends ended")

    def _lock_cases(self, offset: float) -> None:
        if not self._wait_until(offset):
            return
        with self.db.su(autocommit=False) as conn:
            conn.execute("SET lock_timeout = '10s'")
            asked = time.time()
            conn.execute("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")
            start = time.time()
            try:
                self._stop.wait(8.0)
            finally:
                conn.commit()
            self._record("lock cases", start, time.time(), f"(waited {start - asked:.2f} s)")


# -- load --------------------------------------------------------------------------------


@dataclass
class Attempt:
    kind: str  # "ticket" or "reply"
    sent: float
    done: float | None = None
    status: int | None = None  # None: no answer (error or timeout)
    retry: int = 0

    @property
    def latency(self) -> float | None:
        return None if self.done is None else self.done - self.sent


@dataclass
class Ticket:
    index: int
    channel: str
    root: str
    requester: str
    acked: float | None = None  # when a delivery of it was first answered 200
    card_at: float | None = None
    replied: bool = False


@dataclass
class Load:
    attempts: list[Attempt] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    replies_sent: int = 0
    deliveries: int = 0  # events sent, each perhaps more than once
    acked: int = 0  # events one of whose deliveries was answered 200
    start: float = 0.0
    end: float = 0.0


async def _http(port: int, body: bytes, headers: dict[str, str]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            "POST /slack/events HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        )
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        return int(status_line[9:12])
    finally:
        writer.close()


class Driver:
    """Sends Slack's events the way Slack does: signed, and retried when the app does not
    answer 200 within 3 s."""

    def __init__(self, port: int, team: str, load: Load) -> None:
        self.port = port
        self.team = team
        self.load = load
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(
        self, kind: str, payload: dict[str, Any], on_ack: Callable[[float], None]
    ) -> None:
        body = encode_event(payload)
        reason = ""
        acked = False
        self.load.deliveries += 1
        for retry in range(len(RETRY_AFTER) + 1):
            headers = sign(SECRET, body, int(time.time()))
            if retry:
                headers[RETRY_NUM_HEADER] = str(retry)
                headers[RETRY_REASON_HEADER] = reason
            attempt = Attempt(kind, time.time(), retry=retry)
            self.load.attempts.append(attempt)
            try:
                attempt.status = await asyncio.wait_for(
                    _http(self.port, body, headers), HTTP_TIMEOUT
                )
                attempt.done = time.time()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                attempt.done = None
            latency = attempt.latency
            if attempt.status == 200 and latency is not None:
                if not acked:
                    acked = True
                    self.load.acked += 1
                on_ack(attempt.done or time.time())
                if latency <= ACK_MAX:
                    return
                reason = "http_timeout"
            else:
                reason = "http_timeout" if attempt.status is None else "http_error"
            if retry < len(RETRY_AFTER):
                await asyncio.sleep(RETRY_AFTER[retry])


async def run_load(
    args: argparse.Namespace,
    slack: StandIn,
    port: int,
    channels: list[str],
    started: Callable[[float], None],
    observe: Callable[[Load], Any],
) -> Load:
    load = Load()
    driver = Driver(port, slack.team_id, load)
    count = int(args.rate * args.seconds)
    # The tickets' messages, posted before the load: people wrote them a while ago.
    wanted = [
        (
            channels[i % len(channels)],
            REQUESTERS[i % len(REQUESTERS)][0],
            f"Problem #{i}: it broke",
            None,
        )
        for i in range(count)
    ]
    roots = await asyncio.to_thread(slack.post_many, wanted)
    for i, ((channel, user, _, _), ts) in enumerate(zip(wanted, roots, strict=True)):
        load.tickets.append(Ticket(i, channel, ts, user))
    by_root = {(t.channel, t.root): t for t in load.tickets}
    watching = True

    async def reply(ticket: Ticket, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        responder = RESPONDERS[ticket.index % len(RESPONDERS)][0]
        text = "Looking into it now."
        ts = await asyncio.to_thread(slack.post, ticket.channel, responder, text, ticket.root)
        payload = message(
            slack.team_id,
            ticket.channel,
            ts,
            responder,
            text,
            thread_ts=ticket.root,
            parent_user_id=ticket.requester,
        )
        load.replies_sent += 1
        await driver.deliver("reply", payload, lambda _at: None)

    async def watch_cards() -> None:
        while watching:
            new = await asyncio.to_thread(slack.posted_since, len(load.posted))
            load.posted += new
            for m in new:
                ticket = by_root.get((m.channel, m.thread_ts or ""))
                if ticket is None or ticket.card_at is not None or not CARD_RE.match(m.text):
                    continue
                ticket.card_at = m.at
                if ticket.index % 3 == 1 and not ticket.replied:
                    ticket.replied = True
                    driver.spawn(reply(ticket, m.at + REPLY_AFTER))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_cards())
    load.start = time.time() + 0.2
    started(load.start)
    for ticket in load.tickets:
        due = load.start + ticket.index / args.rate
        await asyncio.sleep(max(0.0, due - time.time()))
        payload = reaction_added(
            slack.team_id,
            ticket.channel,
            ticket.root,
            ticket.requester,
            "ticket",
            item_user=ticket.requester,
        )

        def acked(at: float, t: Ticket = ticket) -> None:
            if t.acked is None:
                t.acked = at

        driver.spawn(driver.deliver("ticket", payload, acked))
    load.end = max(time.time(), load.start + args.seconds)
    print(f"load done: {count} tickets sent; watching the outbox", file=sys.stderr, flush=True)
    await observe(load)
    watching = False
    await asyncio.wait_for(watcher, 30)
    # Deliveries still waiting for a retry a minute away are not waited for.
    for task in list(driver.tasks):
        task.cancel()
    if driver.tasks:
        await asyncio.wait(list(driver.tasks), timeout=15)
    load.posted += await asyncio.to_thread(slack.posted_since, len(load.posted))
    return load


@dataclass
class Drain:
    seconds: float | None = None  # after the load's end, from when the outbox stayed empty
    left: int = 0  # rows still pending or sending when watching stopped
    watched: float = 0.0


def _outbox_state(conn: psycopg.Connection[Any], until: float) -> tuple[Any, ...] | None:
    """(outbox rows pending or sending, SLA and paging timers still to fire by `until`)."""
    return conn.execute(
        "SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')),"
        " (SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= to_timestamp(%s)"
        " AND kind IN ('reminder', 'breach', 'page_step'))",
        (until,),
    ).fetchone()


async def observe_outbox(db: Database, load: Load, drain: Drain) -> None:
    """Until the outbox is empty and no SLA or paging timer due within the watch is left
    to fire (a case opened by a late retry of Slack's has its breach after the load), or
    OBSERVE_MAX seconds after the load's end."""
    until = load.end + OBSERVE_MAX
    idle_since: float | None = None
    conn = await asyncio.to_thread(db.su)
    try:
        while True:
            now = time.time()
            try:
                row = await asyncio.to_thread(_outbox_state, conn, until)
                busy, owed = (int(row[0]), int(row[1])) if row else (1, 1)
            except psycopg.Error:
                busy = owed = 1  # unknown: not drained
                conn.close()
                conn = await asyncio.to_thread(db.su)
            drain.left = busy
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = max(now, load.end)
            if (not busy and not owed) or now - load.end >= OBSERVE_MAX:
                break
            await asyncio.sleep(0.5)
    finally:
        conn.close()
    drain.watched = time.time() - load.end
    drain.seconds = None if idle_since is None else idle_since - load.end


# -- analysis ----------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    return s[max(0, math.ceil(q * len(s)) - 1)]


def stats(values: list[float], scale: float = 1.0) -> str:
    if not values:
        return "n=0"
    p50, p99, top = (scale * v for v in (pct(values, 0.5), pct(values, 0.99), max(values)))
    return f"p50 {p50:6.2f}  p99 {p99:6.2f}  max {top:6.2f}  n={len(values)}"


def ts_of(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


@dataclass
class Rows:
    cases: list[dict[str, Any]]
    outbox: dict[int, dict[str, Any]]
    timers: list[dict[str, Any]]


def read_rows(db: Database) -> Rows:
    with db.su() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cases = cur.execute(
            "SELECT id, number, channel_id, message_ts, thread_ts, card_ts, opened_at,"
            " first_response_by FROM cases"
        ).fetchall()
        outbox = cur.execute(
            "SELECT id, intent, case_id, channel_id, data, status, dedupe_key, created_at,"
            " sent_at FROM outbox"
        ).fetchall()
        timers = cur.execute(
            "SELECT id, case_id, kind, target, due_at, target_due_at, status, fired_at,"
            " page_id, step FROM timers"
        ).fetchall()
    return Rows(list(cases), {int(r["id"]): r for r in outbox}, list(timers))


KEY_RE = re.compile(r"\bCASE-\d+\b")


def keys_on_lines(posted: Posted, marker: str) -> set[str]:
    """The case keys on the lines that carry `marker` (an alert's emoji): a digest lists
    several cases' alerts, a line each, in its text and its blocks."""
    found: set[str] = set()
    for line in (posted.text + "\n" + posted.blocks_text).splitlines():
        if marker in line:
            found.update(KEY_RE.findall(line))
    return found


class Report:
    def __init__(self) -> None:
        self.ok = True
        self.lines: list[str] = []

    def check(self, passed: bool, line: str) -> None:
        self.ok &= passed
        self.lines.append(f"{'PASS' if passed else 'FAIL'}  {line}")

    def info(self, line: str) -> None:
        self.lines.append(f"      {line}")


def analyse(
    args: argparse.Namespace,
    load: Load,
    rows: Rows,
    faults: list[Fault],
    drain: Drain,
    memory: dict[str, tuple[float, float]],
    calls: dict[tuple[str, int | None], int],
) -> bool:
    out = Report()
    expected = len(load.tickets)
    observed_until = load.end + drain.watched
    intent_of = {oid: str(r["intent"]) for oid, r in rows.outbox.items()}
    case_by_id = {int(c["id"]): c for c in rows.cases}
    key_of = {cid: f"CASE-{c['number']}" for cid, c in case_by_id.items()}
    case_by_root = {(c["channel_id"], c["message_ts"]): c for c in rows.cases}
    case_by_key = {key: cid for cid, key in key_of.items()}

    def case_of(m: Posted) -> int | None:
        row = rows.outbox.get(m.outbox_id or -1)
        return int(row["case_id"]) if row and row["case_id"] is not None else None

    # Acks.
    print()
    print(
        f"Soak: {args.rate:g} tickets/s for {args.seconds:g} s over {args.channels} channels, "
        f"{'no faults' if args.no_faults else 'with database faults'}"
    )
    print()
    lat = [a.latency for a in load.attempts if a.latency is not None]
    lock = next((f for f in faults if f.kind == "lock cases"), None)
    refuse = next((f for f in faults if f.kind == "refuse connections"), None)
    statuses = Counter(a.status for a in load.attempts)
    slow = sum(1 for x in lat if x > ACK_MAX)
    print(f"{'acks (ms)':<26}{stats(lat, 1000)}")
    for name, window in (("during the lock", lock), ("while refused", refuse)):
        if window is not None:
            inside = [
                a.latency
                for a in load.attempts
                if a.latency is not None and window.start <= a.sent <= window.end
            ]
            print(f"{'acks ' + name + ' (ms)':<26}{stats(inside, 1000)}")
    bad = {str(k): v for k, v in statuses.items() if k != 200}
    retries = sum(1 for a in load.attempts if a.retry)
    out.check(
        load.acked == load.deliveries and not slow,
        f"acks: {load.acked} of {load.deliveries} events acked 200 ({retries} Slack retries); "
        f"answers not 200 {json.dumps(bad) if bad else 0}, slower than {ACK_MAX:g} s {slow}",
    )

    # Cases and cards.
    answered = sum(1 for c in rows.cases if c["first_response_by"])
    out.info(f"replies: {load.replies_sent} sent, {answered} cases with a first response")
    out.check(
        len(rows.cases) == expected,
        f"cases: {len(rows.cases)} in the database for {expected} tickets",
    )
    cards: dict[int, list[Posted]] = defaultdict(list)
    for m in load.posted:
        if m.outbox_id is not None and intent_of.get(m.outbox_id) == "case_card":
            cid = case_of(m)
            if cid is not None:
                cards[cid].append(m)
        elif m.outbox_id is None and (found := CARD_RE.match(m.text)):
            cid2 = case_by_key.get(found.group(1))
            if cid2 is not None:
                cards[cid2].append(m)
    no_card = sum(1 for cid in case_by_id if not cards.get(cid))
    doubled = sum(1 for v in cards.values() if len(v) > 1)
    out.check(
        no_card == 0 and doubled == 0,
        f"cards: {len(cards)} cases with a card, {no_card} without, {doubled} with more than one",
    )
    # A row posted twice lands twice in the same place. A digest carries one of its rows'
    # ids in the channel while that row's own line still goes to its thread: not a double.
    seen = Counter(
        (m.outbox_id, m.channel, m.thread_ts) for m in load.posted if m.outbox_id is not None
    )
    dupes = Counter(intent_of.get(oid or -1, "?") for (oid, _, _), n in seen.items() if n > 1)
    spots: dict[int, set[tuple[str, str | None]]] = defaultdict(set)
    for oid, channel, thread in seen:
        spots[oid or -1].add((channel, thread))
    shared = Counter(intent_of.get(oid, "?") for oid, where in spots.items() if len(where) > 1)
    unlabelled = sum(1 for m in load.posted if m.outbox_id is None)
    if shared:
        out.info(
            "outbox ids also carried by a digest in the channel: "
            + ", ".join(f"{i} {n}" for i, n in sorted(shared.items()))
        )
    out.check(
        not dupes,
        f"posts: {len(load.posted)} messages, {sum(dupes.values())} outbox rows posted twice "
        "in the same place"
        + (f" ({', '.join(f'{i} {n}' for i, n in sorted(dupes.items()))})" if dupes else "")
        + f"; {unlabelled} posts without an outbox id",
    )
    card_lat = []
    slowest: list[tuple[float, float, str]] = []
    for t in load.tickets:
        case = case_by_root.get((t.channel, t.root))
        if case is None or t.acked is None:
            continue
        first = min((m.at for m in cards.get(int(case["id"]), [])), default=None)
        if first is not None:
            card_lat.append(first - t.acked)
            slowest.append((first - t.acked, t.acked - load.start, key_of[int(case["id"])]))
    print(f"{'cards after ack (s)':<26}{stats(card_lat)}")
    out.info(
        "slowest cards: "
        + ", ".join(f"{k} acked at {at:.1f} s took {d:.1f} s" for d, at, k in sorted(slowest)[-3:])
    )
    p99 = pct(card_lat, 0.99)
    out.check(
        bool(card_lat) and p99 <= CARD_P99 and no_card == 0,
        f"cards: p99 {p99:.1f} s after the ack (target <= {CARD_P99:g}), {no_card} never posted",
    )

    # Breach alerts: each missed clock from the timers, its alert from what Slack got (the
    # thread post, the triage post, or a digest naming the case).
    fired_breach: dict[int, float] = {}
    overdue_breach: set[int] = set()
    for t in rows.timers:
        if t["kind"] != "breach" or t["case_id"] is None:
            continue
        due = ts_of(t["target_due_at"] or t["due_at"])
        cid = int(t["case_id"])
        if t["status"] == "fired":
            fired_breach[cid] = min(due, fired_breach.get(cid, math.inf))
        elif t["status"] == "pending" and due <= observed_until - 1:
            overdue_breach.add(cid)
    alert_at: dict[int, float] = {}
    reminded_at: dict[int, float] = {}
    for m in load.posted:
        intent = intent_of.get(m.outbox_id or -1, "")
        if intent.startswith("page"):
            continue
        own = case_of(m)
        for marker, intent_name, seen_at in (
            (":rotating_light:", "breach_alert", alert_at),
            (":hourglass", "sla_reminder", reminded_at),
        ):
            found = {case_by_key[k] for k in keys_on_lines(m, marker) if k in case_by_key}
            if intent == intent_name and own is not None:
                found.add(own)
            for c in found:
                seen_at[c] = min(m.at, seen_at.get(c, math.inf))
    breach_late = [alert_at[c] - due for c, due in fired_breach.items() if c in alert_at]
    unsent = sum(1 for c in fired_breach if c not in alert_at) + len(overdue_breach)
    print(f"{'breach alerts (s)':<26}{stats(breach_late)}")
    p99 = pct(breach_late, 0.99)
    out.check(
        unsent == 0 and (not breach_late or p99 <= BREACH_P99),
        f"breach alerts: {len(breach_late)} reached Slack, p99 {p99:.1f} s after due "
        f"(target <= {BREACH_P99:g}); {unsent} due but never in Slack",
    )

    # Page DMs against the instant their paging step was due.
    steps = {
        (int(t["page_id"]), int(t["step"])): t
        for t in rows.timers
        if t["kind"] == "page_step" and t["page_id"] is not None
    }
    page_late = []
    dm_steps: set[tuple[int, int]] = set()
    for m in load.posted:
        row = rows.outbox.get(m.outbox_id or -1)
        if row is None or row["intent"] != "page_dm":
            continue
        step_key = (int(row["data"]["page"]), int(row["data"]["step"]))
        timer = steps.get(step_key)
        if timer is not None and step_key not in dm_steps:
            dm_steps.add(step_key)
            page_late.append(m.at - ts_of(timer["due_at"]))
    owed = [
        k
        for k, t in steps.items()
        if k not in dm_steps
        and (
            t["status"] == "fired"
            or (t["status"] == "pending" and ts_of(t["due_at"]) <= observed_until - 1)
        )
    ]
    print(f"{'page DMs (s)':<26}{stats(page_late)}")
    worst = max(page_late, default=math.nan)
    out.check(
        not owed and all(x <= PAGE_MAX for x in page_late),
        f"page DMs: {len(page_late)} sent, worst {worst:.1f} s after the step was due "
        f"(target each <= {PAGE_MAX:g}); {sum(x > PAGE_MAX for x in page_late)} later, "
        f"{len(owed)} due but never sent",
    )

    # Reminders: useless once their target is due. One the bot dropped because its breach
    # overtook it never reaches Slack, by design; one still pending past its target will
    # only ever be late.
    reminders: dict[int, tuple[float, str]] = {}
    for row in rows.outbox.values():
        if row["intent"] == "sla_reminder" and row["case_id"] is not None:
            due = ts_of(row["data"]["due_at"])
            cid = int(row["case_id"])
            if cid not in reminders or due < reminders[cid][0]:
                reminders[cid] = (due, str(row["status"]))
    late_reminders = dropped = owed_reminders = 0
    lead = []
    for cid, (due, status) in reminders.items():
        at = reminded_at.get(cid)
        if at is not None:
            lead.append(due - at)
            late_reminders += at >= due
        elif status == "skipped":
            dropped += 1
        elif due <= observed_until:
            owed_reminders += 1
    print(f"{'reminders, s before due':<26}{stats(lead)}")
    out.check(
        late_reminders + owed_reminders == 0,
        f"reminders: {len(reminders)} fired, {len(lead)} reached Slack, {late_reminders} of "
        f"them at or after their target was due; {owed_reminders} still owed past it, "
        f"{dropped} dropped by the bot as overtaken by the breach",
    )

    # Drain. The timers of the last cases come due up to a target's length after the load
    # (a 60 s first response for a case opened in its last second): what they write then
    # is new work, not backlog. The backlog is every row written by the load's end; it has
    # drained when the last of them left the outbox (sent, or not sent for a recorded reason).
    unfinished = ("pending", "sending")
    backlog = [r for r in rows.outbox.values() if ts_of(r["created_at"]) <= load.end]
    stuck = sum(1 for r in backlog if r["status"] in unfinished)
    left_at = max((ts_of(r["sent_at"]) for r in backlog if r["sent_at"]), default=load.end)
    drained = None if stuck else max(0.0, left_at - load.end)
    out.check(
        drained is not None and drained <= DRAIN_MAX,
        f"outbox: the {len(backlog)} rows written during the load "
        + (
            f"had all left it {drained:.1f} s after the load"
            if drained is not None
            else f"had not all left it: {stuck} pending or sending after {drain.watched:.0f} s"
        )
        + f" (target <= {DRAIN_MAX:g})",
    )
    late = Counter(
        str(r["intent"])
        for r in backlog
        if r["sent_at"] and ts_of(r["sent_at"]) - load.end > DRAIN_MAX
    )
    if late:
        out.info(
            f"rows of the load left more than {DRAIN_MAX:g} s after it: "
            + ", ".join(f"{i} {n}" for i, n in sorted(late.items()))
        )
    later = [r for r in rows.outbox.values() if ts_of(r["created_at"]) > load.end]
    slow = Counter(
        str(r["intent"])
        for r in later
        if r["sent_at"] and ts_of(r["sent_at"]) - ts_of(r["created_at"]) > CARD_P99
    )
    if slow:
        out.info(
            f"rows written after the load that waited over {CARD_P99:g} s: "
            + ", ".join(f"{i} {n}" for i, n in sorted(slow.items()))
        )
    waits = [
        ts_of(r["sent_at"]) - ts_of(r["created_at"])
        for r in later
        if r["sent_at"] and r["status"] not in unfinished
    ]
    print(f"{'rows after the load (s)':<26}{stats(waits)}")
    out.info(
        f"rows written after the load (timers of its last cases): {len(later)}, "
        f"{len(later) - len(waits)} not left; the outbox was "
        + (
            f"empty {drain.seconds:.1f} s after the load"
            if drain.seconds is not None
            else f"not empty after {drain.watched:.0f} s ({drain.left} rows)"
        )
    )
    left = Counter(
        (str(r["intent"]), str(r["status"]))
        for r in rows.outbox.values()
        if r["status"] in ("pending", "sending", "failed")
    )
    if left:
        out.info(
            "outbox rows left: " + ", ".join(f"{i} {s} {n}" for (i, s), n in sorted(left.items()))
        )

    # Memory and Slack's refusals.
    for name, (serve_mb, worker_mb) in memory.items():
        out.info(f"memory at {name}: serve {serve_mb:.0f} MB, worker {worker_mb:.0f} MB")
    limited = {m: n for (m, s), n in sorted(calls.items()) if s == 429}
    if limited:
        out.info("Slack answered 429: " + ", ".join(f"{m} {n}" for m, n in limited.items()))
    posts = {m: n for (m, s), n in sorted(calls.items()) if s == 200}
    out.info("Web API calls answered: " + ", ".join(f"{m} {n}" for m, n in posts.items()))
    if faults:
        t0 = load.start
        out.info(
            "faults: "
            + "; ".join(
                f"{f.kind} {f.start - t0:.1f}-{f.end - t0:.1f} s {f.detail}".strip()
                for f in sorted(faults, key=lambda f: f.start)
            )
        )
    print()
    for line in out.lines:
        print(line)
    return out.ok


# -- main --------------------------------------------------------------------------------


class Timeout(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the load runs")
    parser.add_argument("--rate", type=float, default=4.0, help="tickets a second")
    parser.add_argument("--channels", type=int, default=10, help="channels tickets spread over")
    parser.add_argument("--no-faults", action="store_true", help="leave the database alone")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, serve's log and Slack's posts"
    )
    parser.add_argument(
        "--pg-admin",
        default="host=127.0.0.1 port=5432 user=postgres dbname=test",
        help="a superuser connection (libpq conninfo) to create the run's database with",
    )
    args = parser.parse_args()
    if args.seconds <= 0 or args.rate <= 0 or args.channels < 3:
        parser.error("--seconds and --rate must be positive, --channels at least 3")

    def give_up(signum: int, frame: Any) -> None:
        raise Timeout(f"the run exceeded its time limit (signal {signum})")

    # Never hang: the whole run has the load, the observation and ten minutes of slack.
    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(int(args.seconds + OBSERVE_MAX + 600))
    signal.signal(signal.SIGTERM, give_up)

    channels = [f"C0SOAK{i:04d}" for i in range(args.channels)]
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    db: Database | None = None
    slack: StandIn | None = None
    serve: Serve | None = None
    faults: Faults | None = None
    try:
        db = Database(args.pg_admin, args.keep)
        print(f"database {db.name}: migrating as role {db.role}", file=sys.stderr, flush=True)
        migrate(db, workdir)
        users = [*REQUESTERS, *RESPONDERS, ONCALL]
        slack = StandIn(users, [*((c, c.lower()) for c in channels), TRIAGE])
        (workdir / "policies").mkdir()
        for name, text in policies(channels).items():
            (workdir / "policies" / name).write_text(text)
        env = {
            **os.environ,
            "DATABASE_URL": db.bot_url,
            "SLACK_API_URL": slack.base_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "POLICIES_PATH": str(workdir / "policies"),
            "TRIAGE_CHANNEL": TRIAGE[0],
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
        }
        serve = Serve(env, workdir / "serve.log")
        serve.settle()
        memory: dict[str, tuple[float, float]] = {}
        print(
            f"serve ready on port {serve.port}; load for {args.seconds:g} s",
            file=sys.stderr,
            flush=True,
        )
        drain = Drain()
        holder: dict[str, Faults] = {}

        async def observe(load: Load) -> None:
            if "faults" in holder:
                await asyncio.to_thread(holder["faults"].stop)
            await observe_outbox(db, load, drain)  # type: ignore[arg-type]

        def started(t0: float) -> None:
            memory["start"] = serve.rss()  # type: ignore[union-attr]
            if not args.no_faults:
                holder["faults"] = Faults(db, args.seconds, t0)  # type: ignore[arg-type]
                holder["faults"].start()

        async def run() -> Load:
            return await run_load(args, slack, serve.port, channels, started, observe)  # type: ignore[arg-type, union-attr]

        load = asyncio.run(run())
        faults = holder.get("faults")
        memory["end"] = serve.rss()
        if serve.proc.poll() is not None:
            print(f"serve exited early; its log ends:\n{serve.tail()}", file=sys.stderr)
        rows = read_rows(db)
        calls = slack.calls()
        errors = faults.errors if faults else []
        for e in errors:
            print(f"fault injection failed: {e}", file=sys.stderr)
        if args.keep:
            # What Slack got, for looking into a failed check beside the kept database.
            dump = [{**vars(m), "at": m.at} for m in load.posted]
            (workdir / "posted.json").write_text(json.dumps(dump, indent=1))
        ok = analyse(args, load, rows, faults.log if faults else [], drain, memory, calls)
        return 0 if ok and not errors else 1
    except Exception as exc:  # the run itself failed: status 2, not "a target missed"
        print(f"soak: the run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not isinstance(exc, Timeout | RuntimeError):
            traceback.print_exc()
        if serve is not None:
            print(f"serve's log ends:\n{serve.tail()}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
        if faults is not None:
            faults.stop()
        if serve is not None:
            serve.stop()
        if slack is not None:
            slack.stop()
        if db is not None:
            try:
                db.drop()
            except psycopg.Error as exc:
                print(f"could not drop {db.name}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"kept logs in {workdir}", file=sys.stderr)
        else:
            for p in sorted(workdir.rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
