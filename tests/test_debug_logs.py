"""At LOG_LEVEL=DEBUG as at any level, no log line carries a token, an OAuth code, a response
URL or a message text: the Slack libraries, which log bodies, are held at WARNING and
filtered by where they log from, and the suite's log scan (tests/support/logscan.py) runs at
DEBUG and knows what the stand-in handled."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.logs import RedactFilter, TextFormatter, levels
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.cases import react, say
from tests.support.db import quiet
from tests.support.fake_slack import FakeSlack
from tests.support.logscan import COLLECTOR, SEEN, Seen, leaks
from tests.support.serve_process import env_for, replies, wait_until
from tests.support.server import SIGNING_SECRET, ServeProcess
from tests.support.signing import SlackDriver, encode_form
from tests.support.slash_commands import run

TEXT = "the invoices page shows another customer's totals"
REPLY = "still broken after the 10:40 deploy"


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Capture:
    """Two handlers on one logger: one as `serve` configures it, and one that keeps every
    message, to show the records were made."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.served = logging.StreamHandler(self.stream)
        self.served.addFilter(RedactFilter())
        self.served.setFormatter(TextFormatter())
        self.everything = Keep()

    @property
    def made(self) -> list[str]:
        return self.everything.messages


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Captures at DEBUG what the Slack libraries log, whatever level they were left at."""
    found = Capture()
    names = ("slack_sdk", "test.bolt")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(found.served)
        logger.addHandler(found.everything)
    try:
        yield found
    finally:
        for name, level in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.removeHandler(found.served)
            logger.removeHandler(found.everything)


def test_at_debug_only_the_bot_uvicorn_and_the_scheduler_speak_below_info() -> None:
    assert levels("DEBUG") == {
        "": logging.INFO,
        "bot": logging.DEBUG,
        "uvicorn": logging.DEBUG,
        "apscheduler": logging.DEBUG,
        "uvicorn.access": logging.DEBUG,
        "slack_bolt": logging.WARNING,
        "slack_sdk": logging.WARNING,
        "sqlalchemy": logging.WARNING,
    }
    assert levels("INFO") == {
        "": logging.INFO,
        "bot": logging.INFO,
        "uvicorn": logging.INFO,
        "apscheduler": logging.WARNING,
        "uvicorn.access": logging.WARNING,
        "slack_bolt": logging.WARNING,
        "slack_sdk": logging.WARNING,
        "sqlalchemy": logging.WARNING,
    }
    assert set(levels("ERROR").values()) == {logging.ERROR}


def test_slack_sdk_at_debug_logs_bodies_and_none_reaches_a_log_line(
    slack: FakeSlack, capture: Capture
) -> None:
    url = slack.response_url("debug")
    WebClient(base_url=slack.base_url, token=slack.token).chat_postMessage(
        channel=SUPPORT, text=TEXT
    )
    WebhookClient(url).send(text=TEXT)
    made = "\n".join(capture.made)
    assert TEXT in made and url in made
    assert capture.stream.getvalue() == ""


def test_slack_bolt_through_a_logger_of_the_bot_logs_nothing_below_warning(
    slack: FakeSlack, capture: Capture
) -> None:
    app = App(
        client=WebClient(base_url=slack.base_url, token=slack.token),
        signing_secret=SIGNING_SECRET,
        request_verification_enabled=False,
        logger=logging.getLogger("test.bolt"),
    )
    app.command("/case")(lambda ack, command: ack(f"you said: {command['text']}"))
    form = payloads.slash_command(
        "/case", TEXT, user_id=ENGINEER, channel_id=SUPPORT, team_id=slack.team_id
    )
    response = app.dispatch(BoltRequest(body=encode_form(form).decode()))
    assert response.status == 200 and TEXT in response.body
    assert any(TEXT in line for line in capture.made)
    assert capture.stream.getvalue() == ""


def test_the_filter_masks_what_a_library_says_at_warning() -> None:
    record = logging.LogRecord(
        "bot.slack.install",
        logging.WARNING,
        "/site-packages/slack_bolt/oauth/oauth_flow.py",
        363,
        "Failed to fetch oauth.v2.access result with code: %s - error: %s",
        ("4724469134.4644010092847.232b46e1d5e2a5d6a4b2d1e3f4b5c6d7", "invalid_code"),
        None,
    )
    assert RedactFilter().filter(record)
    assert record.getMessage() == (
        "Failed to fetch oauth.v2.access result with code: [redacted] - error: invalid_code"
    )


def test_a_bot_at_debug_logs_no_message_text_response_url_or_token(bot: Bot) -> None:
    assert logging.getLogger("bot.inbox").isEnabledFor(logging.DEBUG)
    start = len(COLLECTOR.lines)
    ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, TEXT)
    assert react(bot, ts)[1].status == 200
    bot.settle()
    assert say(bot, CUSTOMER, REPLY, ts) == 200
    bot.settle()
    status, _, answers = run(bot, "/case", "list")
    assert status == 200 and answers and "*CASE-" in answers[0]
    url = bot.slack.calls("response_url")[-1].path
    # The stand-in told the scan what to look for: the texts, posted and answered, and the URL.
    expected = Seen()
    for text in (TEXT, REPLY, answers[0]):
        expected.text(text)
    assert expected.probes <= SEEN.probes
    assert any(p.endswith(url) for p in SEEN.probes)

    lines = COLLECTOR.lines[start:]
    assert [hit for line in lines for hit in leaks(line, (SIGNING_SECRET,))] == []
    assert SEEN.found_in(lines) == []


def test_the_scan_finds_a_text_however_a_library_quotes_it() -> None:
    seen = Seen()
    seen.text('it said "no" twice, then\nthe page went blank')
    seen.text("ok")  # too short to look for
    seen.value("code-T0ACME0001-1")
    logged = [
        "body: {'text': 'it said \"no\" twice, then\\nthe page went blank'}",
        '{"message": "exchange failed: code-T0ACME0001-1"}',
        "ok, nothing else",
    ]
    assert seen.found_in(logged) == ["code-T0ACME0001-1", "the page went blank"]
    assert seen.found_in(["all quiet"]) == []


@pytest.mark.slow
def test_serve_at_debug_logs_no_message_text_response_url_or_token(
    db_url: str, slack: FakeSlack
) -> None:
    env = env_for(db_url, slack, LOG_LEVEL="DEBUG", LOG_FORMAT="text")
    proc = ServeProcess(env).start()
    try:
        driver = SlackDriver(proc.url, SIGNING_SECRET, slack=slack)
        ts = slack.post_user_message(SUPPORT, CUSTOMER, TEXT)
        event = payloads.reaction_added(
            team=slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert driver.event(event).status == 200
        assert wait_until(lambda: bool(replies(slack, ts)), 10), proc.output()
        reply_ts = slack.post_user_message(SUPPORT, CUSTOMER, REPLY, thread_ts=ts)
        reply = payloads.message(
            slack.team_id, SUPPORT, reply_ts, CUSTOMER, REPLY, thread_ts=ts, parent_user_id=CUSTOMER
        )
        assert driver.event(reply).status == 200
        url = slack.response_url("list")
        form = payloads.slash_command(
            "/case",
            "list",
            user_id=ENGINEER,
            channel_id=SUPPORT,
            team_id=slack.team_id,
            response_url=url,
        )
        assert driver.command(form).status == 200
        assert wait_until(lambda: bool(slack.responses("list")), 10), proc.output()
        assert wait_until(lambda: quiet(db_url), 10)
    finally:
        proc.stop()
    output = proc.output()
    assert any(line.startswith("DEBUG ") for line in output.splitlines()), output
    [answer] = [r["text"] for r in slack.responses("list")]
    seen = Seen()
    for text in (TEXT, REPLY, answer):
        seen.text(text)
    seen.value(url)
    assert leaks(output, (SIGNING_SECRET, slack.token)) == []
    assert seen.found_in(output.splitlines()) == []
