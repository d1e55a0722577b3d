"""Which workspace a request belongs to."""

from __future__ import annotations

from typing import Any


def installation_team(body: dict[str, Any]) -> str:
    """In Slack Connect channels the envelope's team_id may be the other organisation's;
    the installation that received the event is authorizations[0]."""
    auths = body.get("authorizations")
    if isinstance(auths, list) and auths and isinstance(auths[0], dict) and auths[0].get("team_id"):
        return str(auths[0]["team_id"])
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    return str(team_id or "")
