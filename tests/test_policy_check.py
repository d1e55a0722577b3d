"""`check_policies` and `escalation-bot policy check`: every problem is one `file:line:` line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.policy import policy
from bot.policies import PolicyLoadError, check_policies, load_policies

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parent / "policies"
BROKEN = sorted((HERE / "policy_corpus" / "broken").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (\d+): (.+)")


def test_the_corpus_covers_many_kinds_of_mistake() -> None:
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_policy_gives_one_clear_line(path: Path) -> None:
    header = EXPECT.fullmatch(path.read_text(encoding="utf-8").splitlines()[0])
    assert header, f"{path.name} must start with '# expect: <line>: <message>'"
    line, message = header.groups()

    errors = check_policies(path)

    assert len(errors) == 1, errors
    (error,) = errors
    assert error.startswith(f"{path}:{line}: "), error
    assert message in error
    assert "\n" not in error


def test_load_policies_raises_with_the_same_lines() -> None:
    path = HERE / "policy_corpus" / "broken" / "bad-duration.yaml"
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(path)
    assert caught.value.errors == check_policies(path)


def test_a_folder_reports_every_broken_file(tmp_path: Path) -> None:
    for name in ("bad-time.yaml", "unknown-key.yaml"):
        shutil.copy(HERE / "policy_corpus" / "broken" / name, tmp_path / name)
    errors = check_policies(tmp_path)
    assert [e.split(":")[0] for e in errors] == [
        str(tmp_path / "bad-time.yaml"),
        str(tmp_path / "unknown-key.yaml"),
    ]


ONE_SCHEDULE = (
    "oncall:\n"
    "  schedules:\n"
    "    platform:\n"
    "      timezone: UTC\n"
    '      layers: [{rotation: [U0AAAAAA1], shift: 1w, start: "2026-01-05 09:00"}]\n'
)


def _policy(path: Path, policy_id: str, extra: str) -> None:
    path.write_text(
        f"id: {policy_id}\n"
        "name: Test\n"
        f"{extra}"
        "severities:\n"
        "  - {id: sev1, name: Sev 1, calendar: 24/7, targets: {first_response: 1h}}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("extra_a", "id_b", "extra_b", "line", "message"),
    [
        ("default: true\n", "a", "channels: [C0BBBBBBB]\n", 1, "policy id 'a' is already used by"),
        ("default: true\n", "b", "default: true\n", 3, "is already the default policy"),
        (
            "channels: [C0AAAAAAA]\n",
            "b",
            "channels:\n  - C0BBBBBBB\n  - C0AAAAAAA\n",
            5,
            "channel C0AAAAAAA is already covered by policy 'a'",
        ),
        (
            "default: true\n" + ONE_SCHEDULE,
            "b",
            "channels: [C0BBBBBBB]\n" + ONE_SCHEDULE,
            6,
            "schedule 'platform' is already defined by policy 'a'",
        ),
    ],
)
def test_conflicts_between_files_name_the_second_file(
    tmp_path: Path, extra_a: str, id_b: str, extra_b: str, line: int, message: str
) -> None:
    _policy(tmp_path / "a.yaml", "a", extra_a)
    _policy(tmp_path / "b.yml", id_b, extra_b)
    errors = check_policies(tmp_path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 'b.yml'}:{line}: ")
    assert message in errors[0] and str(tmp_path / "a.yaml") in errors[0]


def test_empty_folder_and_missing_path(tmp_path: Path) -> None:
    assert check_policies(tmp_path) == [
        f"{tmp_path}: no policy files (*.yaml, *.yml) in this folder"
    ]
    assert check_policies(tmp_path / "nope") == [f"{tmp_path / 'nope'}: no such file or folder"]


def test_yaml_1_1_surprises_stay_text(tmp_path: Path) -> None:
    # unquoted 9:00 would be the number 540 in YAML 1.1, and the country NO would be false
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nname: P\ndefault: true\n"
        "calendars:\n"
        "  office:\n"
        "    timezone: Europe/Oslo\n"
        "    windows: [{days: [mon-fri], from: 9:00, to: 17:00}]\n"
        "    holidays: {country: NO}\n"
        "severities:\n"
        "  - {id: sev1, name: Sev 1, calendar: office, targets: {first_response: 1h}}\n",
        encoding="utf-8",
    )
    assert check_policies(path) == []
    (loaded,) = load_policies(path)
    assert loaded.calendars["office"].holidays.country == "NO"  # type: ignore[union-attr]


# --- the command line -------------------------------------------------------------------


def test_cli_check_shipped_folder() -> None:
    result = CliRunner().invoke(policy, ["check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "ok: 4 policies, 16 severities"


def test_cli_check_warns_of_alerts_that_name_nobody() -> None:
    # The shipped policies list no responders (each team adds its own): the severities that
    # page nobody leave their reminders and breach alerts unaddressed until someone takes
    # the case.
    result = CliRunner().invoke(policy, ["check", str(SHIPPED)])
    warned = {
        line.split(": ")[1].rsplit("/", 1)[-1]: line.split(" of ")[1].split(" name nobody")[0]
        for line in result.output.splitlines()
        if line.startswith("warning: ")
    }
    assert warned == {
        "five-severities-urgent-around-the-clock.yaml": "sev3, sev4, sev5",
        "four-levels-business-hours-holidays.yaml": "level-2, level-3, level-4",
        "four-priorities-cet-business-hours.yaml": "critical, high, medium, low",
        "three-tiers-first-tier-around-the-clock.yaml": "tier-2, tier-3",
    }


def test_cli_check_names_the_file_of_a_policy_whose_alerts_name_nobody(tmp_path: Path) -> None:
    (tmp_path / "quiet.yaml").write_text(
        "id: quiet\nname: Quiet\ndefault: true\nseverities:\n"
        "  - {id: sev1, name: Sev 1, calendar: 24/7, targets: {first_response: 1h}}\n"
        "  - {id: info, name: Info, calendar: 24/7, targets: {}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(policy, ["check", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"warning: {tmp_path / 'quiet.yaml'}: reminders and breach alerts of sev1 name nobody "
        "on a case nobody is assigned: list `responders` or page a chain for them",
        "ok: 1 policy, 2 severities",
    ]
    (tmp_path / "quiet.yaml").write_text(
        (tmp_path / "quiet.yaml").read_text() + "responders: {users: [U0123ABCD]}\n"
    )
    assert CliRunner().invoke(policy, ["check", str(tmp_path)]).output == (
        "ok: 1 policy, 2 severities\n"
    )


def test_cli_check_uses_policies_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICIES_PATH", str(SHIPPED))
    result = CliRunner().invoke(policy, ["check"])
    assert result.exit_code == 0, result.output


def test_cli_check_broken_folder(tmp_path: Path) -> None:
    broken = HERE / "policy_corpus" / "broken" / "unknown-timezone.yaml"
    shutil.copy(broken, tmp_path / "office.yaml")
    result = CliRunner().invoke(policy, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{tmp_path / 'office.yaml'}:7: calendars.office.timezone: unknown time zone "
        "'Europe/Berln': did you mean Europe/Berlin?"
    ]
