"""`escalation-bot demo` runs end to end and shows what Slack users would see."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.process
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
    lines = out.splitlines()
    # The customer's side, in a channel shared with their organisation: @ana opens the case,
    # raises it to SEV 1 and fills in the details form.
    assert lines[2] == "   #support is shared with the customer's organisation (Slack Connect)"
    assert "#support  @ana reacts with :ticket:" in lines
    assert "#support  @ana presses [SEV 1 - Critical] on the case card" in lines
    assert (
        "#support (thread)  @bot: @ana set severity to SEV 1 - Critical (was SEV 3 - Medium). "
        "First response due Mon 23 Nov 2026 10:12 UTC." in lines
    )
    at = lines.index("#support (thread)  @ana presses [Add details]")
    assert lines[at + 1 : at + 4] == [
        "          (a form opens for @ana: Business impact, What is affected (UI, CLI, API, a "
        "package format))",
        "          @ana fills in: All production deploys are blocked.; CLI and API pushes",
        "          (the card is updated: Details: impact ✓, affected ✓)",
    ]
    assert "#support (thread)  @bot: :ticket: CASE-1 opened (open)" in lines
    assert "cases now: 1" in out
    assert "responder_reply" in out
    # After @lee acknowledged the page (and so took the case), the reminders and the breach
    # alert name them; after @sam's reply the update cadence reminds too.
    reminders = [line for line in lines if ":hourglass_flowing_sand:" in line]
    assert reminders == [
        "#support (thread)  @bot: :hourglass_flowing_sand: CASE-1: first response due Mon 23 "
        f"Nov 2026 10:12 UTC, in {left} min. @lee"
        for left in (30, 15)
    ] + [
        "#support (thread)  @bot: :hourglass_flowing_sand: CASE-1: update due Mon 23 Nov 2026 "
        "11:16 UTC, in 30 min. @lee"
    ]
    # The miss escalates (SEV 1's on_breach): the lead by direct message, the on-call channel.
    escalated = [line.split(" (https")[0] for line in lines if "missed its first" in line]
    assert escalated[2:] == [
        "DM @lee  @bot: :rotating_light: CASE-1",
        "#oncall  @bot: :rotating_light: CASE-1",
    ]
    # The thread's and the triage channel's alerts name @lee; the on_breach notices go to
    # whom the policy names, so they mention nobody.
    assert [line.rsplit(")", 1)[1] for line in lines if "missed its first" in line] == [
        ". @lee",
        ". @lee",
        ".",
        ".",
    ]
    assert escalated[:2] == [
        "#support (thread)  @bot: :rotating_light: CASE-1",
        "#support-triage  @bot: :rotating_light: CASE-1",
    ]
    # SEV 1 pages the engineer on call, then the lead at level 2, who acknowledges.
    paged = [line.split(" (https")[0] for line in lines if "You are paged for CASE-1" in line]
    assert paged == [
        "DM @eli  @bot: :rotating_light: You are paged for CASE-1",
        "DM @lee  @bot: :rotating_light: You are paged for CASE-1",
    ]
    assert lines.index(
        "   ... the clock runs on to Mon 23 Nov 2026 09:22 UTC; nobody has answered"
    ) < (lines.index("DM @lee  @lee presses [Acknowledge] on the page"))
    assert (
        "(only @lee sees) You acknowledged the page for CASE-1 and took it: paging has stopped."
        in out
    )
    acks = [line.split(" (https")[0] for line in lines if ":eyes: @lee acknowledged" in line]
    assert acks == [
        "#support (thread)  @bot: :eyes: @lee acknowledged the page and took CASE-1",
        "#oncall  @bot: :eyes: @lee acknowledged the page and took CASE-1",
    ]
    assert "(only @sam sees) CASE-1 is now SEV 2 - High." in out
    assert "@bot: @sam set CASE-1 waiting on the requester; its clocks are stopped" in out
    assert (
        "@bot: :white_check_mark: CASE-1 resolved after 2 h 19 min. First response: after"
        " 1 h 4 min, missed by 4 min. Waiting on the requester: 20 min. Breaches: 1." in out
    )
    assert "(only @ana sees) Thanks for rating CASE-1." in out
    assert "xoxb-" not in out + result.stderr


def test_the_demo_policy_is_the_shipped_default_with_the_customer_side_added() -> None:
    """The demo's policy ships inside the package, so the demo runs from any directory. It is
    the shipped default policy with three keys added (an intake form, SEV 1's update cadence
    and on_breach), so that the demo shows the customer's side whole; nothing else differs."""
    import yaml

    shipped = yaml.safe_load(files("bot.demo").joinpath("policy.yaml").read_text())
    source = ROOT / "policies" / "five-severities-urgent-around-the-clock.yaml"
    default = yaml.safe_load(source.read_text())
    assert shipped.pop("intake")["fields"] == [
        {"id": "impact", "label": "Business impact", "required": True},
        {"id": "affected", "label": "What is affected (UI, CLI, API, a package format)"},
    ]
    sev1 = shipped["severities"][0]
    assert sev1.pop("on_breach") == {"notify": ["user:U00000000L1", "channel:C00000000P1"]}
    assert sev1["targets"].pop("update_every") == "1h"
    assert shipped == default


@pytest.mark.process
def test_the_demo_runs_anywhere_with_the_policy_in_the_package(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POLICIES_PATH"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "   policy for #support: SEV1-SEV5: urgent around the clock, the rest in core hours"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.process
def test_policies_path_overrides_the_demo_policy(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={**os.environ, "POLICIES_PATH": str(missing)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == f"demo: no policies at '{missing}' (POLICIES_PATH)\n"


@pytest.mark.process
def test_the_demo_ignores_the_shells_slack_settings(tmp_path: Path) -> None:
    """A shell set up for a real deployment (OAuth credentials, a report channel, a webhook
    secret) runs the same demo: it talks only to its own stand-in."""
    env = {
        **os.environ,
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "real-looking-secret",
        "SLACK_STATE_SECRET": "another-real-looking-secret",
        "REPORT_CHANNEL": "C0REPORTS1",
        "PAGE_WEBHOOK_SECRET": "hook-secret",
        "TRIGGER_EMOJI": "fire",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "#support (thread)  @bot: :ticket: CASE-1 opened" in result.stdout
    assert "(Slack redelivers the same event: HTTP 200, cases now: 1)" in result.stdout
