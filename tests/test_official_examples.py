"""Every request body in Bolt for Python's scenario tests (tests/fixtures/bolt_examples, see its
SOURCE.md), signed as Slack signs it and sent to `escalation-bot serve` as an operator runs it:
each gets the answer Bolt documents for it, well inside Slack's three seconds, never a 4xx or
5xx, and at most one log line."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import InboxEvent
from tests.support.fake_slack import FakeSlack
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, Response, SlackDriver

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = Path(__file__).resolve().parent / "fixtures" / "bolt_examples"
# The workspace nearly every example is sent to: the bot is installed there.
TEAM = "T111"
# Slack's limit for an answer; anything slower is retried by Slack.
ACK_LIMIT_SECONDS = 3.0

INTERACTIVE = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}
)
# Keys whose values are message timestamps (Slack ids of messages), kept equal where they were.
TS_KEYS = frozenset(
    {"ts", "event_ts", "thread_ts", "message_ts", "deleted_ts", "action_ts", "latest_reply"}
)
_TS = re.compile(r"([0-9]+)\.([0-9]+)")
REQUIRED_KINDS = frozenset(
    {
        "reaction_added",
        "message",
        "message.message_changed",
        "message.message_deleted",
        "message.thread_broadcast",
        "message.file_share",
        "message.bot_message",
        "app_mention",
        "slash_command",
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
        "url_verification",
        "ssl_check",
    }
)


# ---------------------------------------------------------------- the examples


@dataclass(frozen=True)
class Example:
    name: str  # the file's stem
    original: dict[str, Any]  # as in the file
    body: dict[str, Any]  # as sent: repeated ids made unique

    @property
    def kind(self) -> str:
        return self.name.split("--", 1)[0]

    def encoded(self) -> tuple[bytes, str]:
        """The bytes Slack sends for this body, and their content type."""
        body = self.body
        if "command" in body or "ssl_check" in body:
            # Form fields, encoded as Slack encodes them ('+' for a space, '%2F' for '/').
            return urlencode(body).encode("ascii"), FORM_CONTENT_TYPE
        if body.get("type") in INTERACTIVE:
            payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            return urlencode({"payload": payload}).encode("ascii"), FORM_CONTENT_TYPE
        return json.dumps(body, separators=(",", ":")).encode("utf-8"), JSON_CONTENT_TYPE


def _ids(value: Any, key: str | None = None) -> Iterator[tuple[str, str]]:
    """(id kind, value) for every event id, trigger id and message timestamp in a body."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _ids(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _ids(v, key)
    elif isinstance(value, str):
        if key in ("event_id", "trigger_id"):
            yield key, value
        elif key in TS_KEYS and _TS.fullmatch(value):
            yield "ts", value


def _unique(value: Any, index: int, repeated: set[tuple[str, str]], shift_ts: bool) -> Any:
    """`value` with the ids other examples share suffixed by this example's number, and its
    message timestamps (all of them, so equal ones stay equal and order is kept) moved on by
    that many seconds. Nothing else changes."""

    def walk(v: Any, key: str | None) -> Any:
        if isinstance(v, dict):
            return {k: walk(inner, k) for k, inner in v.items()}
        if isinstance(v, list):
            return [walk(inner, key) for inner in v]
        if isinstance(v, str):
            if key == "event_id" and (key, v) in repeated:
                return f"{v}X{index:03d}"
            if key == "trigger_id" and (key, v) in repeated:
                return f"{v}.{index:03d}"
            ts = _TS.fullmatch(v)
            if key in TS_KEYS and ts and shift_ts:
                return f"{int(ts.group(1)) + index}.{ts.group(2)}"
        return v

    return walk(value, None)


def load() -> list[Example]:
    files = sorted(EXAMPLES_DIR.glob("*.json"))
    originals = [(path.stem, json.loads(path.read_text(encoding="utf-8"))) for path in files]
    # How many examples carry each id (an id repeated inside one example is one example's).
    carriers = Counter(pair for _, body in originals for pair in set(_ids(body)))
    repeated = {pair for pair, n in carriers.items() if n > 1}
    examples = []
    for index, (name, body) in enumerate(originals, start=1):
        shift_ts = any(pair in repeated for pair in _ids(body) if pair[0] == "ts")
        examples.append(Example(name, body, _unique(body, index, repeated, shift_ts)))
    return examples


EXAMPLES = load()


def test_there_are_examples_of_every_kind_the_bot_receives() -> None:
    kinds = {example.kind for example in EXAMPLES}
    assert kinds >= REQUIRED_KINDS, sorted(REQUIRED_KINDS - kinds)
    shared = [
        e.name
        for e in EXAMPLES
        if e.body.get("authorizations")
        and e.body["authorizations"][0].get("team_id") not in (None, e.body.get("team_id"))
    ]
    assert shared, "no Slack Connect example (authorizations naming another team)"


def test_every_example_names_its_source() -> None:
    source = (EXAMPLES_DIR / "SOURCE.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| `([^`]+\.json)` \| `(tests/scenario_tests/[^`]+\.py)` \|", re.M)
    rows = dict(row.findall(source))
    assert sorted(rows) == sorted(f"{e.name}.json" for e in EXAMPLES)
    assert "slackapi/bolt-python" in source
    assert re.search(r"commit `[0-9a-f]{40}`", source)


def test_the_loader_makes_repeated_ids_unique_and_changes_nothing_else() -> None:
    owners: dict[tuple[str, str], set[str]] = {}
    for example in EXAMPLES:
        for pair in set(_ids(example.body)):
            owners.setdefault(pair, set()).add(example.name)
    shared = {pair: sorted(names) for pair, names in owners.items() if len(names) > 1}
    assert shared == {}
    # The originals did repeat them: the loader had work to do.
    assert len({v for e in EXAMPLES for k, v in _ids(e.original) if k == "event_id"}) < len(
        [e for e in EXAMPLES if "event_id" in e.original]
    )

    def without_ids(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: without_ids(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [without_ids(v, key) for v in value]
        if key in ("event_id", "trigger_id") or (key in TS_KEYS and isinstance(value, str)):
            return "<id>"
        return value

    for example in EXAMPLES:
        assert without_ids(example.body) == without_ids(example.original), example.name
        # Within one example, equal timestamps stay equal and their order is kept.
        before = [v for k, v in _ids(example.original) if k == "ts"]
        after = [v for k, v in _ids(example.body) if k == "ts"]
        assert [a == b for a in before for b in before] == [a == b for a in after for b in after]
        assert [float(a) < float(b) for a in before for b in before] == [
            float(a) < float(b) for a in after for b in after
        ]


def test_form_bodies_keep_slacks_encoding() -> None:
    [command] = [e for e in EXAMPLES if e.kind == "slash_command"]
    body, content_type = command.encoded()
    assert content_type == FORM_CONTENT_TYPE
    assert b"&command=%2Fhello-world&" in body and b"&enterprise_name=Org+Name&" in body
    [ssl_check] = [e for e in EXAMPLES if e.kind == "ssl_check"]
    assert ssl_check.encoded() == (b"token=random&ssl_check=1", FORM_CONTENT_TYPE)
    [shortcut] = [e for e in EXAMPLES if e.kind == "shortcut"]
    body, content_type = shortcut.encoded()
    assert content_type == FORM_CONTENT_TYPE and body.startswith(b"payload=%7B%22type%22%3A")


# ---------------------------------------------------------------- the bot, as an operator runs it


@dataclass
class Served:
    proc: ServeProcess
    driver: SlackDriver
    db_url: str

    def log_lines(self) -> list[str]:
        return self.proc.output().splitlines()

    def pending(self) -> int:
        engine = make_engine(self.db_url)
        try:
            with make_sessionmaker(engine)() as session:
                query = select(func.count()).where(InboxEvent.status == "pending")
                return int(session.execute(query).scalar_one())
        finally:
            engine.dispose()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for the work behind the ack, so its log lines count for the request
        that caused them rather than the next one."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('official-examples') / 'bot.db'}"
    with FakeSlack(team_id=TEAM) as slack:
        env = {
            "DATABASE_URL": db_url,
            "SLACK_API_URL": slack.base_url,
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "POLICIES_PATH": str(ROOT / "policies"),
            "TICK_SECONDS": "0.2",
            # The operator's defaults, spelled out so the test's environment cannot change them.
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
        }
        proc = ServeProcess(env).start()
        try:
            yield Served(proc, SlackDriver(proc.url, SIGNING_SECRET), db_url)
        finally:
            proc.stop()


def send(served: Served, example: Example) -> tuple[Response, float]:
    body, content_type = example.encoded()
    headers = {"Content-Type": content_type, **served.driver.signed_headers(body)}
    started = time.monotonic()
    response = served.driver.raw(body, headers)
    return response, time.monotonic() - started


def level(line: str) -> str:
    try:
        return str(json.loads(line).get("level"))
    except (ValueError, AttributeError):
        return "not a JSON log line"


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_official_example(served: Served, example: Example) -> None:
    assert served.proc.proc is not None and served.proc.proc.poll() is None, "serve has exited"
    served.settle()
    before = len(served.log_lines())

    response, seconds = send(served, example)
    served.settle()
    lines = served.log_lines()[before:]

    seen = f"status {response.status}, body {response.text!r}, log {lines}"
    assert response.status < 400, seen
    assert response.status == 200, seen
    if example.kind == "url_verification":
        assert response.json() == {"challenge": example.body["challenge"]}, seen
    elif response.body.strip():
        assert isinstance(response.json(), dict), seen  # an ack with a message is JSON
    assert seconds < ACK_LIMIT_SECONDS, f"answered in {seconds:.2f} s"
    assert len(lines) <= 1, seen
    if example.kind == "ssl_check":
        assert [level(line) for line in lines] in ([], ["INFO"]), seen
