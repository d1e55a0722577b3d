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
    lines = out.splitlines()
    # SEV 1 pages the engineer on call, then the lead at level 2, who acknowledges.
    paged = [line.split(" (https")[0] for line in lines if "You are paged for CASE-1" in line]
    assert paged == [
        "DM @eli  @bot: :rotating_light: You are paged for CASE-1",
        "DM @lee  @bot: :rotating_light: You are paged for CASE-1",
    ]
    assert lines.index(
        "   ... the clock runs on to Mon 23 Nov 2026 09:22 UTC; nobody has answered"
    ) < (lines.index("DM @lee  @lee presses [Acknowledge] on the page"))
    assert "(only @lee sees) You acknowledged the page for CASE-1: paging has stopped." in out
    acks = [line.split(" (https")[0] for line in lines if ":eyes: @lee acknowledged" in line]
    assert acks == [
        "#support (thread)  @bot: :eyes: @lee acknowledged the page for CASE-1",
        "#oncall  @bot: :eyes: @lee acknowledged the page for CASE-1",
    ]
    assert "(only @sam sees) CASE-1 is now SEV 2 - High." in out
    assert "@bot: @sam set CASE-1 waiting on the requester; its clocks are stopped" in out
    assert (
        "@bot: :white_check_mark: CASE-1 resolved after 1 h 49 min. First response: after"
        " 1 h 4 min, missed by 4 min. Waiting on the requester: 20 min. Breaches: 1." in out
    )
    assert "(only @ana sees) Thanks for rating CASE-1." in out
    assert "xoxb-" not in out + result.stderr
