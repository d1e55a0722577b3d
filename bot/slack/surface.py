"""What the bot asks of Slack: the slash commands it registers, the events it subscribes
to, the bot token scopes its calls need and the App Home tabs it shows. `slack-manifest.yaml`
must say the same (a test compares them)."""

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
    # conversations.info: whether a channel is shared with another organisation (Slack
    # Connect), when the request does not say (the message shortcut)
    "channels:read",
    "groups:read",  # the same for private channels
    "chat:write",  # cards, thread lines, reminders, breach alerts
    "commands",  # /severity, /case and /oncall
    "files:write",  # the weekly report's chart
    "im:history",  # find a page already sent in a direct message after a crash
    "im:write",  # open the direct message a page or handoff goes to
    "reactions:read",  # reaction_added
    "usergroups:read",  # responders named by user group
    "users:read",  # who is a full member of the workspace
)
# The App Home's tabs (the manifest's features.app_home). The Home tab shows each person their
# cases and who is on call. The Messages tab shows the bot's direct messages (pages, handoffs,
# how to invite the bot); it is read-only because the bot does not subscribe to `message.im`,
# so nothing written there would be read.
APP_HOME = {
    "home_tab_enabled": True,
    "messages_tab_enabled": True,
    "messages_tab_read_only_enabled": True,
}
