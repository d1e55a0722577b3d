"""The suite's log scan: every record logged in the test process, and every log file of a
`serve` process started by a test, is checked for what must never reach a log: tokens,
the signing secret, and request bodies (hostile inputs carry `BODY_MARKER`)."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from bot.logs import QUIET_LOGGERS

BODY_MARKER = "body-marker-7f3a9c"

_LEAKS = re.compile(r"xox[abposr]-(?!\[redacted\])|xapp-(?!\[redacted\])")


class Collector(logging.Handler):
    """Keeps every formatted record; the production filter runs first, as in `serve`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.files: list[Path] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.exc_text:
            text += "\n" + record.exc_text
        with self._lock2:
            self.lines.append(text)


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    found = [m.group(0) for m in _LEAKS.finditer(text)]
    found += [s for s in secrets if s in text]
    if BODY_MARKER in text:
        found.append(BODY_MARKER)
    return found


def install(collector: Collector) -> None:
    root = logging.getLogger()
    root.addHandler(collector)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


COLLECTOR = Collector()
