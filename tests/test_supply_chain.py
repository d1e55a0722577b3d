"""What goes into the image. requirements.lock, written by scripts/lock, pins every dependency
of pyproject.toml inside its range with hashes and holds nothing they do not need; the
Dockerfile installs from it alone on a base pinned by digest, and scripts/check-install
(run by scripts/test) repeats the Dockerfile's install lines word for word in a fresh
virtualenv. These tests need no network: they read the lock's own annotations and the
metadata of the packages installed here."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent
# How pip-compile names the project in its "# via" annotations.
VIA_DEPENDENCIES = "escalation-bot (pyproject.toml)"
VIA_BUILD = "escalation-bot (pyproject.toml::build-system.requires)"


@dataclass
class Pin:
    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def lock_text() -> str:
    return (ROOT / "requirements.lock").read_text()


def pins() -> dict[str, Pin]:
    """The lock's entries by canonical name. Any line that is not a pin, its hashes, its
    annotation or a comment fails: the lock names no index, option or unpinned package."""
    found: dict[str, Pin] = {}
    pin: Pin | None = None
    for line in lock_text().splitlines():
        if entry := re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+) \\", line):
            pin = found.setdefault(canonicalize_name(entry[1]), Pin(entry[2]))
        elif pin and (digest := re.fullmatch(r" +--hash=(\S+?)( \\)?", line)):
            pin.hashes.append(digest[1])
        elif pin and (via := re.fullmatch(r" +# via(?: (.+))?| +#   (.+)", line)):
            pin.via += [name for name in via.groups() if name]
        else:
            assert line == "" or line.startswith("#"), line
            pin = None
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def dependencies() -> list[Requirement]:
    return [Requirement(r) for r in project()["project"]["dependencies"]]


def build_requirements() -> list[Requirement]:
    return [Requirement(r) for r in project()["build-system"]["requires"]]


def names(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def copied(text: str) -> list[str]:
    """The sources of the COPY instructions in `text`, in order."""
    return [s for v in re.findall(r"^COPY (.+)$", text, re.M) for s in shlex.split(v)[:-1]]


def test_every_dependency_is_pinned_inside_its_range_with_hashes() -> None:
    locked = pins()
    for requirement in dependencies() + build_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, requirement
        assert requirement.specifier.contains(locked[name].version, prereleases=True), (
            requirement,
            locked[name].version,
        )
    unhashed = {
        name: pin.hashes
        for name, pin in locked.items()
        if not pin.hashes or any(not re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes)
    }
    assert unhashed == {}


def test_the_lock_holds_what_the_dependencies_need_and_nothing_else() -> None:
    locked = pins()
    # The project's own entries are exactly pyproject.toml's, so a dependency added or
    # dropped there without running scripts/lock fails here.
    assert {name for name, pin in locked.items() if VIA_DEPENDENCIES in pin.via} == names(
        dependencies()
    )
    assert {name for name, pin in locked.items() if VIA_BUILD in pin.via} == names(
        build_requirements()
    )
    needed_by = {name: set(pin.via) - {VIA_DEPENDENCIES, VIA_BUILD} for name, pin in locked.items()}
    unknown = {name: via - set(locked) for name, via in needed_by.items()}
    assert {name: via for name, via in unknown.items() if via} == {}
    # Every entry is reached from the project through the packages that need it.
    reached = {name for name, pin in locked.items() if {VIA_DEPENDENCIES, VIA_BUILD} & set(pin.via)}
    while more := {n for n, via in needed_by.items() if n not in reached and via & reached}:
        reached |= more
    assert set(locked) - reached == set()
    # What the extras asked for (SQLAlchemy[asyncio], psycopg[binary]) is in the lock too.
    for requirement in dependencies():
        requires = importlib.metadata.requires(requirement.name) or []
        for extra in requirement.extras:
            for needed in map(Requirement, requires):
                if needed.marker and needed.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(needed.name) in locked, (requirement, needed)


def installed_requirements(name: str, version: str) -> list[Requirement] | None:
    """What the package installed here requires, if it is installed at `version`."""
    try:
        if importlib.metadata.version(name) != version:
            return None
    except importlib.metadata.PackageNotFoundError:
        return None
    return [Requirement(r) for r in importlib.metadata.requires(name) or []]


def test_the_lock_agrees_with_the_metadata_of_the_packages_it_pins() -> None:
    # Read from the packages installed here at the locked version; scripts/check-install's
    # pip install --require-hashes checks the rest, with the network.
    locked = pins()
    missing: dict[str, str] = {}
    unasked: dict[str, str] = {}
    for name, pin in locked.items():
        requirements = installed_requirements(name, pin.version)
        if requirements is None:
            continue
        for needed in requirements:
            applies = needed.marker is None or needed.marker.evaluate({"extra": ""})
            if applies and canonicalize_name(needed.name) not in locked:
                missing[name] = str(needed)
        # A package the lock says this one needs is one of its requirements (for any extra).
        for child, child_pin in locked.items():
            if name in child_pin.via and child != name and child not in names(requirements):
                unasked[child] = name
    assert missing == {}
    assert unasked == {}


def test_the_lock_is_written_by_scripts_lock_for_the_images_python() -> None:
    header = lock_text().split("\n\n")[0]
    (python,) = re.findall(r"autogenerated by pip-compile with Python (\d+\.\d+)$", header, re.M)
    assert re.findall(r"^#    (.+)$", header, re.M) == ["scripts/lock"]
    (base,) = re.findall(r"^FROM (\S+)$", dockerfile(), re.M)
    # The tag says which image the digest was taken from; the digest is what is pulled.
    assert re.fullmatch(rf"python:{re.escape(python)}-slim@sha256:[0-9a-f]{{64}}", base), base


def test_the_image_installs_the_lock_with_hashes_then_the_bot_alone() -> None:
    image = [shlex.split(v) for v in re.findall(r"^RUN (pip install .+)$", dockerfile(), re.M)]
    assert image == [
        ["pip", "install", "--require-hashes", "-r", "requirements.lock"],
        ["pip", "install", "--no-deps", "--no-build-isolation", "."],
    ]
    check_install = (ROOT / "scripts" / "check-install").read_text()
    lines = re.findall(r'^"\$work/venv/bin/python" -m (pip install .+)$', check_install, re.M)
    assert [shlex.split(line) for line in lines] == image
    # check-install installs from a copy of what the Dockerfile copies before installing.
    (cp,) = re.findall(r'^cp -r (.+?) "\$work/src/"$', check_install, re.M | re.S)
    installed = copied(dockerfile().split("\nRUN pip install --no-deps")[0])
    assert sorted(re.findall(r'"\$repo/([^"]+)"', cp)) == sorted(installed)
    assert installed == [
        "requirements.lock",
        "pyproject.toml",
        "README.md",
        "alembic.ini",
        "bot",
        "migrations",
    ]


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    # Everything is left out but the sources the Dockerfile copies (no .venv, .git or
    # databases sent to the builder), and their caches.
    assert patterns[0] == "*"
    assert [p.removeprefix("!") for p in patterns if p.startswith("!")] == copied(dockerfile())
    assert patterns[-2:] == ["**/__pycache__", "**/*.pyc"]
