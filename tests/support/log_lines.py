"""Every line the process logs while a test runs, for tests that say what a flood of bad
requests may and may not log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class Lines(logging.Handler):
    """Every record's message; a traceback shows as '<traceback>'. Records of the loggers
    in `ignore` are left out."""

    def __init__(self, ignore: tuple[str, ...] = ()) -> None:
        super().__init__(logging.DEBUG)
        self.ignore = ignore
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in self.ignore:
            return
        text = record.getMessage()
        if record.exc_info or record.exc_text:
            text += "\n<traceback>"
        self.lines.append(text)


@contextmanager
def logged_lines(ignore: tuple[str, ...] = ()) -> Iterator[Lines]:
    """The root logger at INFO into a `Lines` for the duration."""
    handler = Lines(ignore)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
