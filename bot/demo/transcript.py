"""Turns what the bot posted to the Slack stand-in into lines a person reads in a terminal:
mentions become names, dates their fallback text, blocks plain lines and buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([A-Z0-9]+)>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def plain(text: str, user_name: Callable[[str], str], channel_name: Callable[[str], str]) -> str:
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _USER.sub(lambda m: "@" + user_name(m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + channel_name(m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return text.replace("*", "")


def block_lines(blocks: list[dict[str, Any]], fmt: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            if block.get("text"):
                lines.append(fmt(block["text"]["text"]))
            for field in block.get("fields") or []:
                label, _, value = fmt(field["text"]).partition("\n")
                lines.append(f"  {label}: {value}")
        elif kind == "context":
            lines.extend("  " + fmt(e.get("text", "")) for e in block.get("elements", []))
        elif kind == "actions":
            buttons = []
            for e in block.get("elements", []):
                label = e.get("text", {}).get("text", "")
                buttons.append(f"[{label}]" if e.get("style") != "primary" else f"[*{label}*]")
            lines.append("  " + " ".join(buttons))
    return lines
