"""Timers: rows that say when to act on a case and what about, a registry of one handler per
timer kind, and the loop that claims due rows and runs their handler."""
