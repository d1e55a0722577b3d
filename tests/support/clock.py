"""Moving a running bot's fake clock forward as time passes for it."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Bot


def forward(bot: Bot, minutes: float) -> None:
    """Move the clock a minute at a time, running the background work at each instant."""
    for _ in range(int(minutes)):
        bot.clock.advance(timedelta(minutes=1))
        bot.settle()
