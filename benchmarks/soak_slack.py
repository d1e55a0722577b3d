"""The Slack stand-in of `soak.py`, in a process of its own so the load generator's GIL never
slows Slack down, with Slack's rate limits on. The benchmark drives it over a pipe: seed the
workspace, post a person's message (a ticket's root, a responder's reply), read what the bot
posted since a given point, and stop."""

from __future__ import annotations

import multiprocessing as mp
import threading
from dataclasses import dataclass
from typing import Any

from bot.demo.stand_in.fake_slack import FakeSlack

# How long the benchmark waits for any one answer of the stand-in process.
ANSWER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Posted:
    """One chat.postMessage the stand-in accepted, as it stood when posted. `at` is the
    stand-in's wall clock at that instant (the message's ts)."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks_text: str
    outbox_id: int | None
    im_user: str | None

    @property
    def at(self) -> float:
        return float(self.ts)


def _block_text(blocks: Any) -> str:
    """Every string inside a message's blocks, joined: where a digest may name its cases."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("type", "block_id", "action_id", "style"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


class SoakSlack(FakeSlack):
    """The stand-in with two reads the benchmark needs, both cheap under load."""

    def posted_since(self, index: int) -> list[Posted]:
        with self._lock:
            new = self._posted[index:]
            ims = {c.id: c.im_user for c in self._channels.values() if c.is_im}
        out = []
        for m in new:
            meta = (m.metadata or {}).get("event_payload") or {}
            raw = meta.get("outbox_id") if isinstance(meta, dict) else None
            out.append(
                Posted(
                    channel=m.channel,
                    ts=m.ts,
                    thread_ts=m.thread_ts,
                    text=m.text or "",
                    blocks_text=_block_text(m.blocks) if m.blocks else "",
                    outbox_id=int(raw)
                    if isinstance(raw, int | str) and str(raw).isdigit()
                    else None,
                    im_user=ims.get(m.channel),
                )
            )
        return out

    def call_summary(self) -> dict[tuple[str, int | None], int]:
        """Web API calls by (method, HTTP status): how often Slack said 429."""
        counts: dict[tuple[str, int | None], int] = {}
        with self._lock:
            for c in self._calls:
                key = (c.method, c.status)
                counts[key] = counts.get(key, 0) + 1
        return counts


def _serve(conn: Any, setup: dict[str, Any]) -> None:
    """The stand-in process: seed, answer commands until told to stop or the pipe closes."""
    with SoakSlack() as fake:
        for user_id, name in setup["users"]:
            fake.add_user(user_id, name)
        members = [u for u, _ in setup["users"]]
        for channel_id, name in setup["channels"]:
            fake.add_channel(channel_id, name, bot_member=True, members=members)
        conn.send((fake.base_url, fake.token, fake.team_id))
        while True:
            try:
                cmd, *args = conn.recv()
            except (EOFError, OSError):
                return
            if cmd == "stop":
                conn.send(None)
                return
            try:
                if cmd == "post":
                    channel, user, text, thread_ts = args
                    result: Any = fake.post_user_message(channel, user, text, thread_ts)
                elif cmd == "post_many":
                    result = [fake.post_user_message(*a) for a in args[0]]
                elif cmd == "posted_since":
                    result = fake.posted_since(args[0])
                elif cmd == "calls":
                    result = fake.call_summary()
                else:
                    raise ValueError(f"unknown command {cmd!r}")
                conn.send(("ok", result))
            except Exception as exc:  # answer the caller instead of dying silently
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


class StandIn:
    """The benchmark's handle on the stand-in process; every call has a timeout."""

    def __init__(self, users: list[tuple[str, str]], channels: list[tuple[str, str]]) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        setup = {"users": users, "channels": channels}
        self.proc = ctx.Process(target=_serve, args=(child, setup), daemon=True, name="soak-slack")
        self.proc.start()
        child.close()
        self._lock = threading.Lock()
        if not self._conn.poll(60):
            self.stop()
            raise RuntimeError("the Slack stand-in did not start within 60 s")
        self.base_url, self.token, self.team_id = self._conn.recv()

    def _ask(self, *cmd: Any) -> Any:
        with self._lock:
            self._conn.send(cmd)
            if not self._conn.poll(ANSWER_TIMEOUT):
                raise TimeoutError(f"the Slack stand-in did not answer {cmd[0]!r}")
            status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"the Slack stand-in failed {cmd[0]!r}: {result}")
        return result

    def post(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> str:
        return str(self._ask("post", channel, user, text, thread_ts))

    def post_many(self, messages: list[tuple[str, str, str, str | None]]) -> list[str]:
        return [str(ts) for ts in self._ask("post_many", messages)]

    def posted_since(self, index: int) -> list[Posted]:
        return list(self._ask("posted_since", index))

    def calls(self) -> dict[tuple[str, int | None], int]:
        return dict(self._ask("calls"))

    def stop(self) -> None:
        if self.proc.is_alive():
            try:
                with self._lock:
                    self._conn.send(("stop",))
                    self._conn.poll(10)
            except (OSError, EOFError):
                pass
            self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
