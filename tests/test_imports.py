"""What a process loads is what it needs: the chart library, drawn once a week, is not in
every process that serves Slack."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Each test starts a separate process.
pytestmark = pytest.mark.process


def test_the_runtime_does_not_load_the_chart_libraries() -> None:
    probe = (
        "import sys, bot.runtime, bot.web, bot.worker; "
        "print(sorted(m for m in ('matplotlib', 'numpy', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
