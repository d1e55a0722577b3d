"""Shared test builders live in tests/support: a test module imports no other test module."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another() -> None:
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"\s*(from tests\.test_\w+ import|import tests\.test_)", line):
                found.append(f"{path.name}:{number}")
    assert found == []
