"""What the bot asks of Slack: the slash commands it registers, the events it subscribes
to and the bot token scopes its calls need. `slack-manifest.yaml` must say the same (a test
compares them)."""

from __future__ import annotations

COMMANDS = ("/severity", "/case", "/oncall")
# Message shortcuts (callback ids): "Open a case" does what the trigger reaction does.
OPEN_CASE = "open_case"
SHORTCUTS = (OPEN_CASE,)
# Event subscriptions (bot events): a trigger reaction (or an acknowledgement of a page), and
# replies in case threads.
EVENTS = (
    "reaction_added",
    "message.channels",
    "message.groups",
    "app_home_opened",  # the App Home tab: assigned cases, cases at risk, who is on call
    "app_uninstalled",  # multi-workspace mode: the workspace's work stops
    "tokens_revoked",
)
SCOPES = (
    "channels:history",  # read the reacted message and find our own posts (channels)
    "groups:history",  # the same in private channels
    "chat:write",  # cards, thread lines, reminders, breach alerts
    "commands",  # /severity, /case and /oncall
    "files:write",  # the weekly report's chart
    "im:history",  # find a page already sent in a direct message after a crash
    "im:write",  # open the direct message a page or handoff goes to
    "reactions:read",  # reaction_added
    "usergroups:read",  # responders named by user group
    "users:read",  # who is a full member of the workspace
)
