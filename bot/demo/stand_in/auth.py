"""The stand-in's auth.test: who the calling token is, in whichever workspace installed the
app. (OAuth installs and file uploads only the tests need: tests/support/fake_slack.py.)"""

from __future__ import annotations

from typing import Any, ClassVar

from bot.demo.stand_in.model import WebApiMethod
from bot.demo.stand_in.state import State


class Auth(State):
    """auth.test."""

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        team_id, team_name, bot_user = self._caller or (
            self.team_id,
            self.team_name,
            self.bot_user_id,
        )
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": team_name,
            "user": self.bot_name,
            "team_id": team_id,
            "user_id": bot_user,
            "bot_id": self.bot_id,
        }

    AUTH_METHODS: ClassVar[dict[str, WebApiMethod]] = {"auth.test": _auth_test}
