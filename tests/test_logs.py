"""The log filter masks anything that looks like a Slack token or a signature."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import QUIET_LOGGERS, JsonFormatter, RedactFilter, TextFormatter, configure, redact
from bot.settings import Settings


def test_redact_masks_tokens_bearer_headers_and_signatures() -> None:
    text = (
        "token xoxb-123-456-abcDEF and xapp-1-A0-99-ff, header Bearer xoxp-9-9, sig v0=" + "a" * 64
    )
    masked = redact(text)
    for secret in ("xoxb-123-456-abcDEF", "xapp-1-A0-99-ff", "xoxp-9-9", "a" * 64):
        assert secret not in masked
    assert masked.count("[redacted]") == 4


def test_a_logged_exception_is_masked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    try:
        raise RuntimeError("bad token xoxb-1111-2222-secret")
    except RuntimeError:
        log.exception("calling Slack with %s failed", "xoxb-1111-2222-secret")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "xoxb-1111-2222-secret" not in out
    assert "[redacted]" in out and "RuntimeError" in out


def test_text_logs_are_one_line_whatever_the_message_holds() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("test.oneline")
    log.addHandler(handler)
    try:
        log.warning("ignored: %s", "a\nINFO bot.web: forged line\r\\n")
    finally:
        log.removeHandler(handler)
    assert (
        stream.getvalue()
        == "WARNING test.oneline: ignored: a\\nINFO bot.web: forged line\\r\\\\n\n"
    )


def test_the_configured_secrets_are_masked_wherever_they_appear() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter(["8f742231b10e8888abcd99yyyzzz85a5", "pw-of-the-db", "short"]))
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.secrets")
    log.addHandler(handler)
    try:
        log.error("secret 8f742231b10e8888abcd99yyyzzz85a5 and pw-of-the-db, short stays")
    finally:
        log.removeHandler(handler)
    message = json.loads(stream.getvalue())["message"]
    assert message == "secret [redacted] and [redacted], short stays"


def test_settings_name_every_credential_for_the_filter() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-1-2-3",
        slack_signing_secret="s3cr3t-signing",
        slack_app_token="xapp-1-A-2-b",
        database_url="postgresql://bot:db-password@db/escalation",
    )
    assert settings.secrets() == ["xoxb-1-2-3", "s3cr3t-signing", "xapp-1-A-2-b", "db-password"]


def test_libraries_log_at_warning_unless_debug() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET_LOGGERS}
    try:
        configure("INFO", "text")
        assert {n: logging.getLogger(n).level for n in QUIET_LOGGERS} == dict.fromkeys(
            QUIET_LOGGERS, logging.WARNING
        )
        configure("DEBUG", "text")
        assert {n: logging.getLogger(n).level for n in QUIET_LOGGERS} == dict.fromkeys(
            QUIET_LOGGERS, logging.DEBUG
        )
        configure("ERROR", "json")
        assert logging.getLogger("apscheduler").level == logging.ERROR
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
