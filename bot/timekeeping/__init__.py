"""Time math that policies build on, pure (no I/O, no clock, nothing of the bot above it):
business-hours calendars and their open time (`calendars`, on `spans`), and on-call
rotations in layers with overrides (`rotations`)."""
