"""How the Slack stand-in applies Slack's rules (rules.py) to a call: the scopes a token
needs, rate limits and the non-Marketplace page size, trigger_id windows and Block Kit
checks. Each is skipped while a test has relaxed it."""

from __future__ import annotations

from typing import Any

from bot.demo.stand_in import rules
from bot.demo.stand_in.model import ApiError
from bot.demo.stand_in.state import State
from bot.slack.limits import NON_MARKETPLACE, NON_MARKETPLACE_PAGE, Profile


class Enforcement(State):
    """Slack's rules, checked against the stand-in's state and clock."""

    def issue_trigger(self, trigger_id: str) -> None:
        """Slack mints a trigger_id with the request that carries it: it is good for one
        views.open within 3 seconds of now (the stand-in's clock)."""
        with self._lock:
            self._triggers.issue(trigger_id, self._clock.now())

    def set_rate_profile(self, profile: Profile) -> None:
        """ "internal" (Tier 3 reads) or "non_marketplace" (1 read a minute, 15 a page)."""
        with self._lock:
            self._rates = rules.RateLimiter(profile)

    def _rate_limited(
        self, method: str, params: dict[str, Any], caller: tuple[str, str, str] | None
    ) -> int | None:
        if not self.enforces("rate_limits") or caller is None:
            return None
        channel = str(params.get("channel") or "")
        return self._rates.take(caller[0], method, channel, self._clock.now())

    def _check_scopes(self, method: str, params: dict[str, Any], token: str | None) -> None:
        if not self.enforces("scopes"):
            return
        granted = self._granted_scopes(token)
        ch = self._channels.get(str(params.get("channel") or ""))
        kind = (
            None if ch is None else "im" if ch.is_im else "private" if ch.is_private else "public"
        )
        needed = rules.needed_scopes(method, kind)
        if any(scope not in granted for scope in needed):
            raise ApiError(
                "missing_scope", needed=",".join(needed), provided=",".join(sorted(granted))
            )

    def _granted_scopes(self, token: str | None) -> tuple[str, ...]:
        return self.scopes

    def _page_limit(self, method: str, p: dict[str, Any]) -> None:
        """Apps outside the Marketplace read at most 15 messages a page."""
        if self._rates.profile == "non_marketplace" and method in NON_MARKETPLACE:
            try:
                asked = int(p.get("limit") or NON_MARKETPLACE_PAGE)
            except (TypeError, ValueError):
                asked = NON_MARKETPLACE_PAGE
            p["limit"] = min(asked, NON_MARKETPLACE_PAGE)

    def _check_trigger(self, trigger_id: Any) -> None:
        if self.enforces("trigger_id"):
            refused = self._triggers.exchange(trigger_id, self._clock.now())
            if refused is not None:
                raise ApiError(refused)

    def _check_blocks(self, p: dict[str, Any]) -> None:
        if not self.enforces("blocks"):
            return
        text = p.get("text")
        if isinstance(text, str) and len(text) > rules.MESSAGE_TEXT:
            raise ApiError("msg_too_long")
        if "blocks" in p and p["blocks"] not in (None, "", []):
            problems = rules.block_problems(p["blocks"])
            if problems:
                raise ApiError(
                    "invalid_blocks", errors=problems, response_metadata={"messages": problems}
                )

    def _check_view(self, view: Any) -> None:
        if not self.enforces("blocks"):
            return
        problems = rules.view_problems(view)
        if problems:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
