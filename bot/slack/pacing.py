"""The bot's own pace towards Slack: each Web API method spends from its own bucket in the
limits table the stand-in enforces too (bot.slack.limits), so posting to a busy channel never
holds back a card update, an App Home or a direct message, and the bot waits its turn
instead of earning 429s. A 429's Retry-After empties that method's bucket for as long as
Slack asked."""

from __future__ import annotations

import threading

from bot.clock import Clock
from bot.outbox import Intent
from bot.slack.limits import Buckets, Profile, limit_for

# The method a row of each intent calls, known before it is rendered: delivery asks the
# bucket before it takes a row. Intents not here (replies through a response_url, webhooks,
# file uploads) call nothing limited per channel or call several methods.
METHOD: dict[Intent, str] = {
    Intent.CASE_CARD_UPDATE: "chat.update",
    Intent.CASE_CARD_REFRESH: "chat.update",
    Intent.PAGE_CLOSED: "chat.update",
    Intent.EPHEMERAL_NOTICE: "chat.postEphemeral",
    Intent.OPEN_VIEW: "views.open",
    Intent.HOME_VIEW: "views.publish",
    Intent.COMMAND_REPLY: "",
    Intent.WEEKLY_REPORT: "",
    Intent.PAGE_WEBHOOK: "",
}
POST = "chat.postMessage"


def method_of(intent: str) -> str:
    return METHOD.get(Intent(intent), POST)


class Pacer:
    """Per-process buckets. With `enabled=False` (tests on a stopped clock) calls are not
    counted, and only a 429 makes the bot wait."""

    def __init__(self, clock: Clock, enabled: bool = True, profile: Profile = "internal"):
        self.clock = clock
        self.enabled = enabled
        self.profile: Profile = profile
        self._buckets = Buckets()
        # Shared by the delivery passes of one process (the pages lane runs beside them).
        self._lock = threading.Lock()

    def wait(self, team: str, method: str, channel: str) -> float:
        """Seconds before a call of `method` to `channel` may go (0: now)."""
        limit = limit_for(method, self.profile) if method else None
        if limit is None:
            return 0.0
        # With pacing off nothing is spent, so only a 429's hold makes a wait.
        with self._lock:
            return self._buckets.wait(team, method, channel, limit, self.clock.now())

    def idle(self, team: str, method: str, channel: str) -> bool:
        """True when nothing else is spending `method`'s budget there: what may go only
        when Slack has room to spare (a card refresh) goes then."""
        limit = limit_for(method, self.profile) if method else None
        if limit is None:
            return True
        with self._lock:
            return self._buckets.idle(team, method, channel, limit, self.clock.now())

    def spend(self, team: str, method: str, channel: str) -> None:
        limit = limit_for(method, self.profile)
        if limit is not None and self.enabled:
            with self._lock:
                self._buckets.spend(team, method, channel, limit, self.clock.now())

    def hold(self, team: str, method: str, channel: str, seconds: float) -> None:
        """Slack answered 429: nothing more of `method` there for `seconds`, whether
        pacing is on or not."""
        limit = limit_for(method, self.profile)
        if limit is not None:
            with self._lock:
                self._buckets.hold(team, method, channel, limit, self.clock.now(), seconds)
