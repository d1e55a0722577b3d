"""Single-workspace mode: which workspace the bot token belongs to and the bot's own user
there, learned with `auth.test` once, in the background, retrying until Slack answers.
Requests never wait for it: until it is known they are stored and acked as usual, and the
work behind them waits (bot/slack/intake.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logs import describe

log = logging.getLogger(__name__)

# Backoff between attempts while Slack does not answer: 1 s, doubling, at most a minute.
FIRST_WAIT, LONGEST_WAIT = 1.0, 60.0


@dataclass(frozen=True)
class Who:
    team_id: str
    bot_user_id: str | None


class Identity:
    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._who: Who | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Set once an attempt was refused for good (a revoked or invalid token).
        self.refused: str | None = None
        # Called once, with the identity, when it is first learned.
        self.on_learned: Callable[[Who], None] = lambda who: None

    @property
    def known(self) -> Who | None:
        return self._who

    def learn(self) -> Who | None:
        """One auth.test; the identity, or None when Slack could not tell."""
        if self._who is not None:
            return self._who
        if not self._client.token:
            return None  # multi-workspace mode: no one token to ask about
        try:
            answer = self._client.auth_test()
        except SlackApiError as exc:
            self.refused = str(exc.response.get("error"))
            return None
        except Exception:  # Slack unreachable or hanging: try again later
            return None
        team = answer.get("team_id")
        if not isinstance(team, str) or not team:
            return None
        who = Who(team, answer.get("user_id") if isinstance(answer.get("user_id"), str) else None)
        with self._lock:
            first = self._who is None
            self._who, self.refused = who, None
        if first:
            log.info("the bot token belongs to workspace %s", team)
            if not self._stop.is_set():  # a process stopping has closed its database
                self._tell(who)
        return who

    def _tell(self, who: Who) -> None:
        try:
            self.on_learned(who)
        except Exception as exc:
            # The workspace's work resumes at the next start, when the token is learned again.
            log.error(
                "could not record that workspace %s is served again: %s", who.team_id, describe(exc)
            )

    def start(self) -> None:
        """Learn in a background thread, retrying with backoff; returns at once."""
        with self._lock:
            if self._thread is not None or self._who is not None:
                return
            self._thread = threading.Thread(target=self._run, name="identity", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        wait = FIRST_WAIT
        while not self._stop.is_set():
            if self.learn() is not None:
                return
            if self.refused:
                log.error("Slack refused the bot token (%s); retrying", self.refused)
            self._stop.wait(wait)
            wait = min(LONGEST_WAIT, wait * 2)
