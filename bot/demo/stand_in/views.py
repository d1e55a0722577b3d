"""The stand-in's views.* methods: a modal opened with a trigger_id (Slack's 3-second,
single-use window) and a user's Home tab, each checked as Block Kit."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from bot.demo.stand_in.enforcement import Enforcement
from bot.demo.stand_in.model import ApiError, WebApiMethod


class Views(Enforcement):
    """views.open and views.publish."""

    def opened_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._opened_views)

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            raise ApiError("invalid_arguments")
        self._check_view(p.get("view"))
        self._check_trigger(p.get("trigger_id"))
        view = self._view_api(p.get("view"))
        self._opened_views.append(view)
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user_id") or "")
        if user not in self._users:
            raise ApiError("user_not_found")
        self._check_view(p.get("view"))
        view = self._view_api(p.get("view"))
        if view.get("type") != "home":
            raise ApiError("invalid_arguments")
        self._home_views[user] = view
        return {"view": copy.deepcopy(view)}

    def _view_api(self, view: Any, **extra: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise ApiError("invalid_arguments")
        out = copy.deepcopy(view)
        view_id = self._new_id("V")
        out.update(
            id=view_id,
            team_id=self.team_id,
            state={"values": {}},
            hash=f"{int(self._clock.now().timestamp())}.{view_id}",
            previous_view_id=None,
            root_view_id=view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
            **extra,
        )
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.setdefault("external_id", "")
        return out

    VIEWS_METHODS: ClassVar[dict[str, WebApiMethod]] = {
        "views.open": _views_open,
        "views.publish": _views_publish,
    }
