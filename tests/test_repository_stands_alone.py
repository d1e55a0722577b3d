"""The repository stands alone: nothing in it points at, or reads, a path outside it.

A clone in an empty directory must pass its tests, so no file may name a folder beside the
repository (such as a shared fixtures folder next to it) or a machine's own paths, and no
Python code may climb from its own file above the repository root. The Slack fixtures the
tests compare against are kept in tests/fixtures/slack/, each with its source in SOURCE.md.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
SLACK_FIXTURES = ROOT / "tests" / "fixtures" / "slack"

# Spelled in pieces so that this file does not name what it looks for.
UP = ".."
FORBIDDEN = (UP + "/shared", "/" + "work/")

# Folders and files that are never part of the repository (the .gitignore's, and git's own),
# for a tree that is not a git checkout.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "build",
    "dist",
}
SKIPPED_SUFFIXES = (".pyc", ".db", ".db-journal")


def repository_files() -> list[str]:
    """The repository's files, relative to its root: git's tracked files and the new ones it
    does not ignore, or (outside a git checkout) every file of the tree but the ignored ones."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = {name for name in listed.split("\0") if name}
    else:
        names = set()
        for path in ROOT.rglob("*"):
            parts = path.relative_to(ROOT).parts
            if any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
                continue
            if path.is_file() and not path.name.endswith(SKIPPED_SUFFIXES) and path.name != ".env":
                names.add(path.relative_to(ROOT).as_posix())
    return sorted(name for name in names if (ROOT / name).is_file())


def _texts() -> Iterator[tuple[str, str]]:
    for name in repository_files():
        data = (ROOT / name).read_bytes()
        if b"\0" in data:
            continue  # not text
        yield name, data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- relative paths in text

# A relative path that starts by going up a folder (`..` and a slash): at the start of a line
# or after a space, quote, bracket, `=` or `:` (so "http://.../api" is not one).
RELATIVE = re.compile(r"""(?:^|(?<=[\s'"`(\[=:]))((?:\.\./)+[^\s'"`)\]>,;]*)""", re.MULTILINE)


def _climbs_out(start: PurePosixPath, relative: str) -> bool:
    depth = len(start.parts)
    for part in relative.split("/"):
        if part == UP:
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def relative_paths_out(name: str, text: str) -> list[str]:
    """The relative paths of a file that go up and out of the repository: from the file's
    folder (links, kustomize bases) and, for Python, also from the root, where it runs."""
    folder = PurePosixPath(name).parent
    starts = [folder] + ([PurePosixPath()] if name.endswith(".py") else [])
    out = []
    for match in RELATIVE.finditer(text):
        path = match.group(1)
        if any(_climbs_out(start, path) for start in starts):
            line = text.count("\n", 0, match.start()) + 1
            out.append(f"{name}:{line}: {path}")
    return out


# ---------------------------------------------------------------- Python climbing from __file__

Parts = tuple[str, ...]


def _up(parts: Parts, times: int = 1) -> Parts:
    for _ in range(times):
        parts = parts[:-1] if parts and parts[-1] != UP else (*parts, UP)
    return parts


def _join(parts: Parts, *pieces: str) -> Parts:
    for piece in pieces:
        for part in piece.split("/"):
            if part == UP:
                parts = _up(parts)
            elif part not in ("", "."):
                parts = (*parts, part)
    return parts


def _strings(nodes: list[ast.expr]) -> list[str] | None:
    values = [n.value for n in nodes if isinstance(n, ast.Constant)]
    return values if len(values) == len(nodes) and all(isinstance(v, str) for v in values) else None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _where(node: ast.expr, file: Parts, names: dict[str, Parts]) -> Parts | None:
    """Where an expression built from `__file__` points, relative to the root (a leading `..`
    is outside it); None for anything else."""
    if isinstance(node, ast.Name):
        return file if node.id == "__file__" else names.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        base = _where(node.value, file, names)
        return None if base is None else _up(base)
    if isinstance(node, ast.Subscript) and _dotted(node.value).endswith(".parents"):
        assert isinstance(node.value, ast.Attribute)
        base = _where(node.value.value, file, names)
        index = node.slice
        if base is not None and isinstance(index, ast.Constant) and isinstance(index.value, int):
            return _up(base, index.value + 1)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        base = _where(node.left, file, names)
        pieces = _strings([node.right])
        return None if base is None or pieces is None else _join(base, *pieces)
    if isinstance(node, ast.Call):
        called = _dotted(node.func)
        last = called.rsplit(".", 1)[-1]
        if called in ("Path", "PurePath", "pathlib.Path", "pathlib.PurePath") and node.args:
            base = _where(node.args[0], file, names)
            pieces = _strings(node.args[1:])
            return None if base is None or pieces is None else _join(base, *pieces)
        if called in ("os.path.abspath", "os.path.realpath", "os.path.normpath") and node.args:
            return _where(node.args[0], file, names)
        if called == "os.path.dirname" and node.args:
            base = _where(node.args[0], file, names)
            return None if base is None else _up(base)
        if called == "os.path.join" and node.args:
            base = _where(node.args[0], file, names)
            pieces = _strings(node.args[1:])
            return None if base is None or pieces is None else _join(base, *pieces)
        if isinstance(node.func, ast.Attribute):
            if last in ("resolve", "absolute", "expanduser"):
                return _where(node.func.value, file, names)
            if last == "joinpath":
                base = _where(node.func.value, file, names)
                pieces = _strings(node.args)
                return None if base is None or pieces is None else _join(base, *pieces)
    return None


def python_paths_out(name: str, source: str) -> list[str]:
    """Lines of a Python file whose paths, built from `__file__`, lead out of the repository."""
    if "__file__" not in source:
        return []  # every path followed starts there: nothing to parse
    tree = ast.parse(source, filename=name)
    file = tuple(PurePosixPath(name).parts)
    names: dict[str, Parts] = {}
    for node in ast.walk(tree):  # breadth first: module-level names come first
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            where = _where(node.value, file, names)
            for target in targets:
                if isinstance(target, ast.Name) and where is not None:
                    names[target.id] = where
    out: dict[int, str] = {}  # line: the widest expression on it that leads out
    for node in ast.walk(tree):
        if isinstance(node, ast.expr) and not isinstance(getattr(node, "ctx", None), ast.Store):
            where = _where(node, file, names)
            if where and where[0] == UP and node.lineno not in out:
                out[node.lineno] = ast.unparse(node)
    return [f"{name}:{line}: {text}" for line, text in sorted(out.items())]


# ---------------------------------------------------------------- the checks


def test_the_scan_sees_the_repository() -> None:
    files = repository_files()
    assert "pyproject.toml" in files and "tests/test_repository_stands_alone.py" in files
    assert not [f for f in files if f.startswith((".venv/", ".git/"))]


def test_no_file_names_a_folder_outside_the_repository() -> None:
    found = [
        f"{name}:{text.count(chr(10), 0, text.index(word)) + 1}: {word}"
        for name, text in _texts()
        for word in FORBIDDEN
        if word in text
    ]
    assert found == []


def test_no_relative_path_leads_out_of_the_repository() -> None:
    found = [line for name, text in _texts() for line in relative_paths_out(name, text)]
    assert found == []


def test_no_python_file_climbs_above_the_repository_root() -> None:
    found = [
        line
        for name, text in _texts()
        if name.endswith(".py")
        for line in python_paths_out(name, text)
    ]
    assert found == []


# Slack fixture files are named like event_reaction_added.json or webapi_auth.test.bot_bolt.json.
FIXTURE_NAME = re.compile(r"\b(?:event|interactivity|slash|socket_mode|webapi)_[\w.]*?\.json\b")


def test_every_slack_fixture_named_in_the_repository_is_kept_with_its_source() -> None:
    named = {
        found
        for name, text in _texts()
        if not name.startswith("tests/fixtures/")
        for found in FIXTURE_NAME.findall(text)
    }
    kept = {p.name for p in SLACK_FIXTURES.glob("*.json")}
    assert named, "no fixture is named anywhere: the pattern no longer finds them"
    assert named - kept == set()
    source = (SLACK_FIXTURES / "SOURCE.md").read_text()
    assert {name for name in kept if f"| {name} |" not in source} == set()


# ---------------------------------------------------------------- the detectors themselves


@pytest.mark.parametrize(
    ("name", "source", "escapes"),
    [
        ("tests/test_x.py", "F = Path(__file__).resolve().parent.parent / 'policies'", False),
        ("tests/test_x.py", "F = Path(__file__).resolve().parent.parent.parent / 'x'", True),
        ("tests/test_x.py", "F = Path(__file__).parents[1]", False),
        ("tests/test_x.py", "F = Path(__file__).parents[2]", True),
        ("tests/test_x.py", f"F = Path(__file__).parent / '{UP}' / '{UP}' / 'x'", True),
        ("tests/test_x.py", "HERE = Path(__file__).parent\nF = HERE.parent / 'policies'", False),
        ("tests/test_x.py", "HERE = Path(__file__).parent\nF = HERE.parent.parent", True),
        ("bot/a/b.py", "F = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))", False),
        ("bot/a/b.py", f"F = os.path.join(os.path.dirname(__file__), '{UP}/{UP}/{UP}')", True),
        ("bot/a/b.py", "F = Path(__file__).parent.joinpath('data.json')", False),
    ],
)
def test_python_climbing_is_seen(name: str, source: str, escapes: bool) -> None:
    assert bool(python_paths_out(name, source)) is escapes


@pytest.mark.parametrize(
    ("name", "text", "escapes"),
    [
        ("deploy/overlays/example/kustomization.yaml", f"  - {UP}/{UP}/base", False),
        ("deploy/overlays/example/kustomization.yaml", f"  - {UP}/{UP}/{UP}/{UP}/x", True),
        ("docs/a.md", f"see [it]({UP}/README.md)", False),
        ("docs/a.md", f"see [it]({UP}/{UP}/other/README.md)", True),
        ("tests/test_x.py", f'open("{UP}/data.json")', True),
        ("benchmarks/a.py", "SLACK_API_URL=http://.../api/", False),
    ],
)
def test_relative_paths_out_are_seen(name: str, text: str, escapes: bool) -> None:
    assert bool(relative_paths_out(name, text)) is escapes
