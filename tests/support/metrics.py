"""The bot's Prometheus metrics, read from its real /metrics endpoint."""

from __future__ import annotations

import urllib.request

from tests.conftest import Bot


def metrics(bot: Bot) -> dict[str, float]:
    """Every sample on /metrics, by its name with labels."""
    with urllib.request.urlopen(bot.url + "/metrics") as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
