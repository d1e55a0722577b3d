"""The stand-in's users.* and usergroups.* methods: a person as Slack describes them (their
time zone's offset on the stand-in's clock included) and a user group's members."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.demo.stand_in.model import ApiError, User, WebApiMethod
from bot.demo.stand_in.state import State


class Users(State):
    """users.info and usergroups.users.list."""

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(p.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": self._user_api(user)}

    def _usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup") or "")
        if group not in self._usergroups:
            raise ApiError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _user_api(self, user: User) -> dict[str, Any]:
        try:
            zone = ZoneInfo(user.tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        local = self._clock.now().astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.name,
            "display_name_normalized": user.name,
            "team": user.team_id,
        }
        if user.email:
            profile["email"] = user.email
        if user.is_bot and user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": local.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": user.is_restricted,
            "is_ultra_restricted": user.is_ultra_restricted,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 0,
        }

    USERS_METHODS: ClassVar[dict[str, WebApiMethod]] = {
        "users.info": _users_info,
        "usergroups.users.list": _usergroups_users_list,
    }
