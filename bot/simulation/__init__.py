"""Dry runs of a policy: when would a case opened at a given time be due, and why.

`timeline.simulate` works out, for one severity of a policy, every target's due time, its
reminders and the page, together with the stretches of time between the opening and each
due time (`stretches`): the open time counted and what was skipped (nights, weekends, named
holidays, pauses). `render` turns that into the text `escalation-bot policy simulate`
prints. Everything here is pure: the command loads the policy file, and `inputs` turns its
arguments into values.

It sits above bot.oncall, whose paging says when each step of a chain would page.
"""
