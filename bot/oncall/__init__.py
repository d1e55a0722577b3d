"""On-call: paging a case's escalation chain, acknowledgements, overrides and handoffs.
The schedules themselves (who is on call when) are time math, in bot.timekeeping."""

# Paging follows every change to a case (it registers with bot.cases.planning on import):
# importing any part of on-call makes sure it does.
from bot.oncall import paging as paging
