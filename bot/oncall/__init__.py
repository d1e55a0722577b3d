"""On-call: schedules (who is on call when). Escalation chains and paging build on it."""
