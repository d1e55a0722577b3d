"""The suite's log scan: every record logged in the test process, DEBUG included, and every log
file of a `serve` process started by a test, is checked for what must never reach a log: a
token of any kind, the signing secret, a request body (hostile inputs carry `BODY_MARKER`),
and what the Slack stand-in handed out or was handed (`SEEN`): OAuth codes, response URLs and
message texts."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from bot.logs import levels

BODY_MARKER = "body-marker-7f3a9c"

# A Slack token, or a Slack response URL, that the log filter did not mask.
_LEAKS = re.compile(
    r"xox[a-z]-(?!\[redacted\])|xapp-(?!\[redacted\])"
    r"|https://hooks\.slack(?:-gov)?\.com/(?!\[redacted\])"
)

# Shorter texts would be found in ordinary log lines ("ok", "help"); a leak of a body quotes
# a message whole.
MIN_TEXT = 8

# What JSON or repr() may escape when a body is logged: a text is looked for by its longest
# run of characters both leave as they are.
_ESCAPED = re.compile(r"[^\x20-\x7e]|[\\\"']")


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


class Seen:
    """What the stand-in handled that no log line may quote: the texts of the messages it
    stored or was sent, the OAuth codes it minted, the response URLs it issued."""

    def __init__(self) -> None:
        self.probes: set[str] = set()
        self._lock = threading.Lock()

    def text(self, text: object) -> None:
        if isinstance(text, str):
            piece = max(_ESCAPED.split(text), key=len).strip()
            self._add(piece)

    def value(self, value: str) -> None:
        """An OAuth code or a response URL, looked for verbatim."""
        self._add(value)

    def _add(self, probe: str) -> None:
        if len(probe) >= MIN_TEXT:
            with self._lock:
                self.probes.add(probe)

    def found_in(self, texts: Iterable[str]) -> list[str]:
        """The probes some text contains: each text is read once, MIN_TEXT characters at a
        time, against the probes indexed by their start."""
        with self._lock:
            starts: dict[str, list[str]] = {}
            for probe in self.probes:
                starts.setdefault(probe[:MIN_TEXT], []).append(probe)
        found: set[str] = set()
        for text in texts:
            for i in range(len(text) - MIN_TEXT + 1):
                candidates = starts.get(text[i : i + MIN_TEXT])
                if candidates:
                    found.update(p for p in candidates if text.startswith(p, i))
        return sorted(found)


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """Tokens, `secrets` and request bodies in `text` (what `SEEN` knows is `scan`'s part)."""
    found = [m.group(0) for m in _LEAKS.finditer(text)]
    found += [s for s in secrets if s in text]
    if BODY_MARKER in text:
        found.append(BODY_MARKER)
    return found


def scan(texts: list[str], secrets: tuple[str, ...]) -> list[str]:
    """Everything in `texts` that must never reach a log."""
    found = [hit for text in texts for hit in leaks(text, secrets)]
    return sorted(set(found)) + SEEN.found_in(texts)


def install(collector: Collector) -> None:
    """Collect every record, at the levels `LOG_LEVEL=DEBUG` sets."""
    logging.getLogger().addHandler(collector)
    for name, level in levels("DEBUG").items():
        logging.getLogger(name).setLevel(level)


COLLECTOR = Collector()
SEEN = Seen()
