"""Policy content as the loader reads it from YAML, built in Python for tests."""

from __future__ import annotations


def minimal(**changes: object) -> dict:
    """The smallest valid policy (one severity, around the clock), with `changes` to its
    top-level keys."""
    content: dict = {
        "id": "p",
        "name": "P",
        "default": True,
        "severities": [
            {"id": "sev1", "name": "Sev 1", "calendar": "24/7", "targets": {"first_response": "1h"}}
        ],
    }
    content.update(changes)
    return content
