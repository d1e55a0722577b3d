"""Logging setup. A log line never carries a token, an OAuth code, a response URL, a message
text or a request body:

- the libraries that log bodies below WARNING (slack-sdk every API call and its answer,
  slack-bolt payloads, SQLAlchemy statements with their parameters) speak only at WARNING and
  above, whatever the level asked for;
- a filter masks anything shaped like a Slack token, a signature, an OAuth code or a response
  URL, the values SQLAlchemy and pydantic quote in an error, and the configured secrets
  themselves, before any handler formats a record.

A text line is one line: newlines in a message are escaped, so nothing quoted from a request
can forge another line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

# What a log line must not carry; group 1 of each, the context, is kept.
_MASKS = (
    # Every kind of Slack token (bot, user, app, refresh, rotated `xoxe.xoxb-`), and bearer
    # headers and request signatures.
    re.compile(r"\b(xox[a-z](?:\.xox[a-z])?-|xapp-)[A-Za-z0-9-]+"),
    re.compile(r"(Bearer\s+)\S+"),
    re.compile(r"(v0=)[0-9a-f]{16,}"),
    # An OAuth code: in a redirect's query string, as slack-bolt quotes a failed exchange, and
    # Slack's own shape (digits.digits.hex) wherever it appears.
    re.compile(r"([?&]code=|\bwith code: )[^\s&\"',]+"),
    re.compile(r"\b()\d+\.\d+\.[0-9a-f]{20,}\b"),
    # A response URL, or an incoming webhook: either posts to the conversation it names.
    re.compile(r"(https://hooks\.slack(?:-gov)?\.com/)[^\s\"',)}\]]+"),
    # The parameters SQLAlchemy quotes in an error, the value pydantic quotes in a validation
    # error: the row being written or read, a request's or a message's text.
    re.compile(r"^(\[parameters: ).*(?=\]$)", re.MULTILINE),
    re.compile(r"(input_value=).*?(?=, input_type=)"),
)

# Libraries that log request or response bodies below WARNING (slack-sdk every Web API call
# with its body at DEBUG and a retried response URL at INFO; slack-bolt payloads and OAuth
# redirects; SQLAlchemy its statements' parameters): at WARNING whatever LOG_LEVEL says.
BODY_LOGGERS = ("slack_bolt", "slack_sdk", "sqlalchemy")
# The same libraries by where a record is made. slack-bolt also logs through loggers named
# after the app or handed to it by the bot, and copies the root logger's level into its own:
# levels cannot hold it back, so the filter drops what they say below WARNING.
_BODY_SOURCES = re.compile(r"[\\/](?:slack_bolt|slack_sdk|sqlalchemy)[\\/]")
# Chatty libraries: a scheduler line per job run, a line per HTTP request. Noise at the
# default level; they speak at DEBUG only when LOG_LEVEL=DEBUG.
QUIET_LOGGERS = ("apscheduler", "uvicorn.access")
# Who speaks at DEBUG when LOG_LEVEL=DEBUG, besides the quiet ones; the root logger, and so
# every other library, stays at INFO.
DEBUG_LOGGERS = ("bot", "uvicorn")


def levels(level: str) -> dict[str, int]:
    """The level of the root logger ("") and of each logger set apart from it when the bot
    logs at `level`."""
    asked = logging.getLevelName(level)
    quiet = asked if asked == logging.DEBUG else max(logging.WARNING, asked)
    return {
        "": max(logging.INFO, asked),
        **dict.fromkeys(DEBUG_LOGGERS, asked),
        **dict.fromkeys(QUIET_LOGGERS, quiet),
        **dict.fromkeys(BODY_LOGGERS, max(logging.WARNING, asked)),
    }


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for mask in _MASKS:
        text = mask.sub(lambda m: m.group(1) + "[redacted]", text)
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


class RedactFilter(logging.Filter):
    """Drops what the body-logging libraries say below WARNING; masks the rest."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real secrets are long.
        self.secrets = tuple(s for s in secrets if len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and _BODY_SOURCES.search(record.pathname):
            return False
        message = record.getMessage()
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return _one_line(super().format(record))


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def describe(exc: BaseException, limit: int = 100) -> str:
    """An exception in one short line: the driver's error rather than SQLAlchemy's wrapper
    (which quotes the statement's parameters, and so the request), cut to `limit`."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[:1]
    text = first[0] if first else ""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(orig).__name__}: {text}" if text else type(orig).__name__


def configure(level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logging.getLogger().handlers[:] = [handler]
    for name, logger_level in levels(level).items():
        logging.getLogger(name).setLevel(logger_level)
