"""Logging setup. Tokens and secrets never reach a log line: a filter masks anything that
looks like a Slack token or signing material, and the configured secrets themselves, before
any handler formats it. A text line is one line: newlines in a message are escaped, so
nothing quoted from a request can forge another line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_SECRET = re.compile(r"\b(xox[abposr]-|xapp-)[A-Za-z0-9-]+|(Bearer\s+)\S+|(v0=)[0-9a-f]{16,}")

# Chatty libraries: their INFO lines (a scheduler line per job run, a request body on a
# refused signature, a line per HTTP request) are noise, or worse, at the default level.
QUIET_LOGGERS = ("slack_bolt", "slack_sdk", "apscheduler", "uvicorn.access")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = _SECRET.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "[redacted]", text)
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


class RedactFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real secrets are long.
        self.secrets = tuple(s for s in secrets if len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
