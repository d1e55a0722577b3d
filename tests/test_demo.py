"""`escalation-bot demo` runs end to end and shows what Slack users would see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_demo_prints_a_transcript_with_case_1_and_the_thread_reply() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "@sam reacts with :ticket:" in out
    assert "#support (thread)  @bot: :ticket: CASE-1 opened" in out
    assert "missed its first response target" in out
    assert "cases now: 1" in out
    assert "responder_reply" in out
    assert "xoxb-" not in out + result.stderr
