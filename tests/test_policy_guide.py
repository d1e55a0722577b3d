"""The policy guide's complete example (docs/policies.md) is a policy the bot loads, with
every key the guide documents in use."""

from __future__ import annotations

from pathlib import Path

from bot.policies.loader import load_policies

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "policies.md"


def test_the_complete_example_loads(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    example = text.split("## A complete example", 1)[1].split("```yaml\n", 1)[1].split("```")[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    [policy] = load_policies(tmp_path)
    sev1 = policy.severity("sev1")
    assert sev1 is not None and sev1.on_breach is not None
    assert (policy.requester_severities[0].id, policy.status_page) == (
        "sev1",
        "https://status.example.com",
    )
    assert policy.intake is not None and [f.id for f in policy.intake.fields] == [
        "impact",
        "version",
    ]
    assert policy.target("sev1", "update_every") is not None
