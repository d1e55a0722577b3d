"""One warning when a page or a breach alert has waited in the outbox longer than anyone
should wait for one, and one line when the outbox has caught up: a log that says when the
bot fell behind, not a line per pass."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.outbox import backlog
from bot.outbox.priorities import Priority

log = logging.getLogger("bot.runtime")

BEHIND_SECONDS = 30.0
EVERY = timedelta(seconds=1)
WATCHED = {Priority.PAGES: "page", Priority.BREACHES: "breach alert"}


class BehindWatch:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.behind = False
        self._last: datetime | None = None

    def check(self) -> None:
        """At most once a second (of the injected clock): passes can run back to back."""
        now = self.clock.now()
        if self._last is not None and now - self._last < EVERY:
            return
        self._last = now
        with self.sessions() as session:
            ages = backlog.oldest(session, now)
        late = {name: ages[p] for p, name in WATCHED.items() if ages[p] > BEHIND_SECONDS}
        if late and not self.behind:
            self.behind = True
            waited = ", ".join(
                f"the oldest {name} has waited {s:.0f} s" for name, s in late.items()
            )
            log.warning("the outbox is behind: %s", waited)
        elif not late and self.behind:
            self.behind = False
            log.warning(
                "the outbox has caught up: no page or breach alert has waited over %.0f s",
                BEHIND_SECONDS,
            )
