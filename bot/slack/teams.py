"""Which workspace a request belongs to."""

from __future__ import annotations

from typing import Any


def installation_team(body: dict[str, Any]) -> str:
    """In Slack Connect channels the envelope's team_id may be the other organisation's;
    the installation that received the event is authorizations[0] (events), or the view's
    app_installed_team_id (modal submissions)."""
    auths = body.get("authorizations")
    if isinstance(auths, list) and auths and isinstance(auths[0], dict) and auths[0].get("team_id"):
        return str(auths[0]["team_id"])
    # A modal submitted from a Slack Connect channel: `team` is the submitter's
    # organisation; the view says which workspace installed the app that opened it.
    view = body.get("view")
    installed = view.get("app_installed_team_id") if isinstance(view, dict) else None
    if isinstance(installed, str) and installed:
        return installed
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    return str(team_id or "")
