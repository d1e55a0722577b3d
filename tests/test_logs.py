"""The log filter masks anything that looks like a Slack token or a signature."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import (
    QUIET_LOGGERS,
    JsonFormatter,
    RedactFilter,
    TextFormatter,
    configure,
    levels,
    redact,
)
from bot.settings import Settings


def test_redact_masks_tokens_bearer_headers_and_signatures() -> None:
    text = (
        "token xoxb-123-456-abcDEF and xapp-1-A0-99-ff, header Bearer xoxp-9-9, sig v0=" + "a" * 64
    )
    masked = redact(text)
    for secret in ("xoxb-123-456-abcDEF", "xapp-1-A0-99-ff", "xoxp-9-9", "a" * 64):
        assert secret not in masked
    assert masked.count("[redacted]") == 4


def test_redact_masks_every_kind_of_token_oauth_codes_and_response_urls() -> None:
    text = (
        "refresh xoxe-1-My0xLTA5 rotated xoxe.xoxp-1-Mi0yLTE user xoxp-1-2-3 config xoxe.xoxb-9"
        " redirect /slack/oauth_redirect?code=4724469134.4644010092847.232b46e1d5e2a5d6&state=s1"
        " bolt: result with code: code-T0ACME0001-1 - error: invalid_code"
        " bare 4724469134.4644010092847.232b46e1d5e2a5d6a4b2d1e3 ts 1700000000.000100"
        " url: https://hooks.slack.com/commands/T0001/1234/AbCd,"
        " 'https://hooks.slack.com/actions/T/1/x'"
    )
    assert redact(text) == (
        "refresh xoxe-[redacted] rotated xoxe.xoxp-[redacted] user xoxp-[redacted] config"
        " xoxe.xoxb-[redacted]"
        " redirect /slack/oauth_redirect?code=[redacted]&state=s1"
        " bolt: result with code: [redacted] - error: invalid_code"
        " bare [redacted] ts 1700000000.000100"
        " url: https://hooks.slack.com/[redacted],"
        " 'https://hooks.slack.com/[redacted]'"
    )


def test_the_value_pydantic_quotes_in_a_validation_error_is_masked() -> None:
    error = (
        "1 validation error for Reply\ntext\n  Input should be a valid string"
        " [type=string_type, input_value={'text': 'it broke, \"really\"'}, input_type=dict]"
    )
    assert redact(error) == (
        "1 validation error for Reply\ntext\n  Input should be a valid string"
        " [type=string_type, input_value=[redacted], input_type=dict]"
    )


def test_the_parameters_sqlalchemy_quotes_in_an_error_are_masked() -> None:
    error = (
        "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed\n"
        "[SQL: INSERT INTO inbox_events (payload) VALUES (?)]\n"
        "[parameters: ('{\"text\": \"our deploys fail\"}',)]\n"
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
    )
    assert redact(error) == error.replace(
        "[parameters: ('{\"text\": \"our deploys fail\"}',)]", "[parameters: [redacted]]"
    )


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
    saved = root.handlers[:], {n: logging.getLogger(n).level for n in levels("DEBUG")}
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
        root.handlers[:] = saved[0]
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
