"""A running case keeps the policy it opened under: editing the file changes new cases only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.policies.loader import load_policies
from tests.conftest import ENGINEER, make_bot
from tests.support.buttons import press
from tests.support.cases import open_case
from tests.support.fake_slack import FakeSlack

ROOT = Path(__file__).parent.parent


def test_editing_a_policy_does_not_rewrite_running_cases(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    policy_file = folder / "policy.yaml"
    original = (ROOT / "policies/five-severities-urgent-around-the-clock.yaml").read_text()
    policy_file.write_text(original)
    for bot in make_bot(db_url, slack, policies_path=str(folder)):
        open_case(bot)
        [first] = bot.cases()
        # The support lead doubles SEV2's target and reloads the policies.
        policy_file.write_text(
            original.replace("targets: {first_response: 2h}", "targets: {first_response: 4h}")
        )
        edited = load_policies(folder)
        bot.runtime.policies = edited
        bot.runtime.intake.policies = edited
        press(bot, ENGINEER, "sev2")
        [case] = bot.cases()
        # Opened Monday 2026-01-05 09:00 UTC; SEV2 is 24/7, 2h as the case's snapshot says.
        assert case.severity == "sev2"
        assert case.first_response_due == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
        assert case.policy_hash == first.policy_hash
        assert case.policy_hash != edited.for_channel("C0SUPPORT1").content_hash
