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
    assert (
        "@bot: :hourglass_flowing_sand: CASE-1: first response due Mon 23 Nov 2026 10:12 UTC,"
        " in 30 min." in out
    )
    assert "(only @sam sees) CASE-1 is now SEV 2 - High." in out
    assert "@bot: @sam set CASE-1 waiting on the requester; its clocks are stopped" in out
    assert (
        "@bot: :white_check_mark: CASE-1 resolved after 1 h 49 min. First response: after"
        " 1 h 4 min, missed by 4 min. Waiting on the requester: 20 min. Breaches: 1." in out
    )
    assert "(only @ana sees) Thanks for rating CASE-1." in out
    assert "xoxb-" not in out + result.stderr
