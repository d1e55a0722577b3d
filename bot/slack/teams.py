"""Which workspace a request belongs to."""

from __future__ import annotations

from typing import Any


def installation_team(body: dict[str, Any]) -> str:
    """In Slack Connect channels the envelope's team_id may be the other organisation's;
    the installation that received the event is authorizations[0] (events), or the view's
    app_installed_team_id (modal submissions). An Enterprise Grid request names its
    workspace as any other does; one about an organisation as a whole (an org-wide
    install's uninstall) names no workspace, and its organisation (E…) stands for it."""
    auths = body.get("authorizations")
    first = auths[0] if isinstance(auths, list) and auths and isinstance(auths[0], dict) else {}
    if first.get("team_id"):
        return str(first["team_id"])
    # A modal submitted from a Slack Connect channel: `team` is the submitter's
    # organisation; the view says which workspace installed the app that opened it.
    view = body.get("view")
    installed = view.get("app_installed_team_id") if isinstance(view, dict) else None
    if isinstance(installed, str) and installed:
        return installed
    team = body.get("team")
    team_id = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    if team_id:
        return str(team_id)
    # An org-wide install's interactivity: `team` is null, the user's workspace stands in.
    for part in (body.get("user"), view):
        if isinstance(part, dict) and isinstance(part.get("team_id"), str) and part["team_id"]:
            return str(part["team_id"])
    enterprise = first.get("enterprise_id") or body.get("enterprise_id")
    return str(enterprise or "")
