"""The local stand-in for Slack the `demo` command runs the bot against: Slack's Web API
(fake_slack, assembled from one module per Slack area and the rules Slack enforces), the
payloads Slack sends (payloads), signed delivery to the bot (signing) and the bot served in a
thread (server). The tests extend it under tests/support/."""
