"""The package layering in pyproject.toml ([tool.importlinter]) holds, and the check would
catch a breach: a copy of the package with one wrong import fails it, naming the import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Each test starts a separate process.
pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [LINT, "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_package(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "bot", tree / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_package_keeps_its_layers(tmp_path: Path) -> None:
    found = lint(copy_of_the_package(tmp_path))
    assert found.returncode == 0, found.stdout + found.stderr
    assert "Contracts: 2 kept, 0 broken." in found.stdout


def test_an_import_of_a_higher_layer_inside_a_function_breaks_the_layers(
    tmp_path: Path,
) -> None:
    tree = copy_of_the_package(tmp_path)
    queries = tree / "bot" / "cases" / "queries.py"
    queries.write_text(
        queries.read_text()
        + "\n\ndef _render_for_slack() -> object:\n"
        + "    from bot.slack import render\n\n"
        + "    return render\n"
    )
    found = lint(tree)
    assert found.returncode == 1
    assert "Each layer imports only the layers below it BROKEN" in found.stdout
    assert "bot.cases.queries -> bot.slack.render" in found.stdout


def test_a_slack_library_in_the_domain_breaks_its_contract(tmp_path: Path) -> None:
    tree = copy_of_the_package(tmp_path)
    clocks = tree / "bot" / "sla" / "clocks.py"
    clocks.write_text(clocks.read_text() + "\n\nfrom slack_sdk import WebClient  # noqa\n")
    found = lint(tree)
    assert found.returncode == 1
    assert "The domain never imports a Slack library BROKEN" in found.stdout
    assert "bot.sla.clocks -> slack_sdk" in found.stdout
