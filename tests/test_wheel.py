"""The package as `pip install` ships it: the wheel carries the bot and the demo and none of
the test kit, and once installed in a fresh virtual environment `escalation-bot demo` runs
from an empty directory with the policy inside the package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# What the Dockerfile copies before its `pip install .`.
SOURCES = ("pyproject.toml", "README.md", "alembic.ini", "bot", "migrations")
PIP = ("-m", "pip", "--disable-pip-version-check")

# Definitions the tests' stand-in adds (tests/support/); none may ship. A key ending in "/"
# stands for every module in that folder but its table of Slack's rules, which names the
# scopes of every Web API method, served or not.
RULES_TABLE = "bot/demo/stand_in/rules.py"
TEST_ONLY = {
    "bot/demo/stand_in/": (
        "def fail(",
        "def delay(",
        "def fail_randomly(",
        "def pending_faults(",
        "def grant_install(",
        "def revoke(",
        "def uploaded_files(",
        "def wait_for(",
        "def reset(",
        '"oauth.v2.access"',
        '"files.getUploadURLExternal"',
        '"reactions.add"',
        '"conversations.join"',
        "OAUTH_CLIENT_SECRET",
    ),
    "bot/demo/stand_in/payloads.py": (
        "def reaction_removed(",
        "def url_verification(",
        "def app_rate_limited(",
        "def socket_mode_envelope(",
    ),
    "bot/demo/stand_in/signing.py": ("omit",),
    "bot/demo/stand_in/server.py": ("def free_port(",),
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, *PIP, "wheel", str(src), "--no-deps", "--quiet", "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("*.whl")
    return built


@pytest.mark.process
def test_the_wheel_holds_the_bot_and_the_demo_and_no_test_kit(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        shipped = {
            path: "".join(
                zf.read(name).decode()
                for name in names
                if name == path
                or (path.endswith("/") and name.startswith(path) and name != RULES_TABLE)
            )
            for path in TEST_ONLY
        }
    assert wheel.name == "escalation_bot-0.1.0-py3-none-any.whl"
    assert {n.split("/")[0] for n in names} == {
        "bot",
        "migrations",
        "escalation_bot-0.1.0.dist-info",
    }
    folders = {n.rsplit("/", 1)[0] for n in names if n.startswith(("bot/", "migrations/"))}
    assert folders == {
        "bot",
        "bot/cases",
        "bot/cli",
        "bot/db",
        "bot/demo",
        "bot/demo/stand_in",
        "bot/oncall",
        "bot/outbox",
        "bot/policies",
        "bot/reports",
        "bot/runtime",
        "bot/simulation",
        "bot/sla",
        "bot/slack",
        "bot/timekeeping",
        "bot/timers",
        "migrations",
        "migrations/versions",
    }
    assert sorted(n for n in names if n.startswith("bot/demo/")) == [
        "bot/demo/__init__.py",
        "bot/demo/policy.yaml",
        "bot/demo/run.py",
        "bot/demo/stage.py",
        "bot/demo/stand_in/__init__.py",
        "bot/demo/stand_in/auth.py",
        "bot/demo/stand_in/conversations.py",
        "bot/demo/stand_in/enforcement.py",
        "bot/demo/stand_in/fake_slack.py",
        "bot/demo/stand_in/messages.py",
        "bot/demo/stand_in/model.py",
        "bot/demo/stand_in/payloads.py",
        "bot/demo/stand_in/rules.py",
        "bot/demo/stand_in/server.py",
        "bot/demo/stand_in/serving.py",
        "bot/demo/stand_in/signing.py",
        "bot/demo/stand_in/state.py",
        "bot/demo/stand_in/users.py",
        "bot/demo/stand_in/views.py",
        "bot/demo/transcript.py",
    ]
    found = {
        path: [name for name in TEST_ONLY[path] if name in text] for path, text in shipped.items()
    }
    assert found == {path: [] for path in TEST_ONLY}


def _permalinks_hidden(line: str) -> str:
    # Message timestamps come from the wall clock; everything else in the transcript is fixed.
    return re.sub(r"/p\d{16}\b", "/pTS", line)


@pytest.mark.slow
def test_the_installed_demo_runs_from_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), *PIP, "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    home.mkdir()
    # Nothing from this machine's settings: no POLICIES_PATH, DATABASE_URL or Slack variables.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    result = subprocess.run(
        [str(venv / "bin" / "escalation-bot"), "demo"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [_permalinks_hidden(line) for line in result.stdout.splitlines()]
    assert lines[:9] == [
        "== escalation-bot demo: a local Slack stand-in, SQLite, signed requests ==",
        "   policy for #support: SEV1-SEV5: urgent around the clock, the rest in core hours",
        "   #support is shared with the customer's organisation (Slack Connect)",
        "   it is Mon 23 Nov 2026 09:12 UTC",
        "",
        "#support  @ana: Deploys to production fail with 'registry unavailable' since 09:05. Help!",
        "#support  @ana reacts with :ticket:",
        "          (Slack -> bot: reaction_added, acked with HTTP 200)",
        "#support (thread)  @bot: :ticket: CASE-1 opened (open)",
    ]
    at = lines.index("DM @lee  @lee presses [Acknowledge] on the page")
    link = "https://subarachnoid.slack.com/archives/C0SUPPORT1/pTS"
    assert lines[at : at + 4] == [
        "DM @lee  @lee presses [Acknowledge] on the page",
        "          (only @lee sees) You acknowledged the page for CASE-1 and took it: paging has "
        "stopped.",
        f"#support (thread)  @bot: :eyes: @lee acknowledged the page and took CASE-1 ({link})"
        " Mon 23 Nov 2026 09:22 UTC; paging has stopped.",
        f"#oncall  @bot: :eyes: @lee acknowledged the page and took CASE-1 ({link})"
        " Mon 23 Nov 2026 09:22 UTC; paging has stopped.",
    ]
    assert "          (only @ana sees) Thanks for rating CASE-1." in lines
    # The demo keeps its database in a temporary directory of its own.
    assert list(empty.iterdir()) == []
