"""Slack's Web API rate limits, by method: one table, read by the Slack stand-in (which
answers 429 when a caller goes over) and by anything in the bot that paces its calls.

Slack publishes the limits as tiers, "per API method per workspace per app": Tier 1 is
1+ a minute, Tier 2 20+, Tier 3 50+, Tier 4 100+, each tolerating some burst; and
`chat.postMessage` is special: about one message a second per channel, short bursts allowed
(api.slack.com/apis/rate-limits). Since 2025, apps distributed outside the Slack
Marketplace get 1 request a minute, 15 objects a page, for `conversations.history` and
`conversations.replies`; internal apps keep Tier 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Limit:
    """A token bucket: `burst` calls at once, refilled at `per_minute` a minute."""

    per_minute: float
    burst: int
    # What one bucket covers: the workspace (per method), or one channel of it.
    per: Literal["workspace", "channel"] = "workspace"

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


TIER_1 = Limit(per_minute=1, burst=1)
TIER_2 = Limit(per_minute=20, burst=20)
TIER_3 = Limit(per_minute=50, burst=50)
TIER_4 = Limit(per_minute=100, burst=100)
# One a second per channel. Slack documents "short bursts >1 allowed" without a number;
# measured from outside it behaves as a bucket of about 25 refilled at one a second.
POST_MESSAGE = Limit(per_minute=60, burst=25, per="channel")

LIMITS: dict[str, Limit] = {
    "auth.test": TIER_4,
    "chat.postMessage": POST_MESSAGE,
    "chat.postEphemeral": TIER_4,
    "chat.update": TIER_3,
    "chat.getPermalink": TIER_4,
    "conversations.info": TIER_3,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.open": TIER_3,
    "conversations.members": TIER_4,
    "conversations.join": TIER_3,
    "users.info": TIER_4,
    "usergroups.users.list": TIER_2,
    "views.open": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "reactions.add": TIER_3,
    "oauth.v2.access": TIER_4,
    "apps.uninstall": TIER_1,
    "auth.teams.list": TIER_2,
}

# Apps distributed outside the Slack Marketplace (since 2025).
NON_MARKETPLACE: dict[str, Limit] = {
    "conversations.history": TIER_1,
    "conversations.replies": TIER_1,
}
# ...which also get at most this many messages a page from those two methods.
NON_MARKETPLACE_PAGE = 15

Profile = Literal["internal", "non_marketplace"]


def limit_for(method: str, profile: Profile = "internal") -> Limit | None:
    """The limit a call of `method` counts against; None for a method with no published
    limit here."""
    if profile == "non_marketplace" and method in NON_MARKETPLACE:
        return NON_MARKETPLACE[method]
    return LIMITS.get(method)


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class Buckets:
    """Token buckets, one per workspace and method (and channel, for `chat.postMessage`),
    on the clock the caller passes: the stand-in spends them to decide when to answer 429,
    the bot's delivery to wait its turn rather than earn one."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def wait(
        self, team: str, method: str, channel: str | None, limit: Limit, now: datetime
    ) -> float:
        """Seconds until a call is allowed (0: now)."""
        bucket = self._bucket(team, method, channel, limit, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / limit.per_second

    def idle(
        self, team: str, method: str, channel: str | None, limit: Limit, now: datetime
    ) -> bool:
        """True when the bucket is full but for at most one call: nothing else is spending
        it."""
        return self._bucket(team, method, channel, limit, now).tokens >= limit.burst - 1

    def take(
        self, team: str, method: str, channel: str | None, limit: Limit, now: datetime
    ) -> int | None:
        """Spend one call if it is allowed now (None), else the whole seconds to wait,
        as Slack's Retry-After says them."""
        bucket = self._bucket(team, method, channel, limit, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        # Rounded first: 59/60 of a token a minute short is one second, not two.
        return max(1, math.ceil(round((1 - bucket.tokens) / limit.per_second, 6)))

    def spend(
        self, team: str, method: str, channel: str | None, limit: Limit, now: datetime
    ) -> None:
        """Count a call made whatever the bucket held: a debt is waited out later."""
        self._bucket(team, method, channel, limit, now).tokens -= 1

    def hold(
        self,
        team: str,
        method: str,
        channel: str | None,
        limit: Limit,
        now: datetime,
        seconds: float,
    ) -> None:
        """Slack said wait (Retry-After): no call before `seconds` from now."""
        bucket = self._bucket(team, method, channel, limit, now)
        bucket.tokens = min(bucket.tokens, 1 - seconds * limit.per_second)

    def _bucket(
        self, team: str, method: str, channel: str | None, limit: Limit, now: datetime
    ) -> _Bucket:
        key = (team, method, channel or "") if limit.per == "channel" else (team, method)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
        bucket.at = max(bucket.at, now)
        return bucket
