"""Slack's Block Kit limits, applied to what policy files put into the bot's messages.

Slack refuses a whole card or modal when one field is too long: an action_id over 255
characters, an option value over 150, an option's or a button's text over 75, a button value
over 2000. `policy check` refuses severity ids and names that would build such a field (from
the same prefixes the renderers use), the modal never cuts an option value (the value has to
come back whole), display text is cut with an ellipsis, and plain-text fields show people as
names, never as `<@U...>` markup they cannot render.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.cases.view import CaseView
from bot.cli.policy import policy as policy_cli
from bot.policies import Policy, check_policies, load_policies
from bot.slack import render, views
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.slash_commands import run

ROOT = Path(__file__).resolve().parent.parent

ID_TOO_LONG_FOR_BOTH = (
    "severities[0].id: severity id of 255 characters is too long: "
    "the case card's button action_id (set_severity:<id>) would be 268 characters, "
    "Slack's limit is 255; "
    "the /severity modal's option value (<id>) would be 255 characters, Slack's limit is 150; "
    "a case's stored severity (<id>) would be 255 characters, the database's limit is 40: "
    "use at most 40 characters"
)
ID_TOO_LONG_FOR_THE_MODAL = (
    "severities[0].id: severity id of 151 characters is too long: "
    "the /severity modal's option value (<id>) would be 151 characters, Slack's limit is 150; "
    "a case's stored severity (<id>) would be 151 characters, the database's limit is 40: "
    "use at most 40 characters"
)
ID_TOO_LONG_TO_STORE = (
    "severities[0].id: severity id of 41 characters is too long: "
    "a case's stored severity (<id>) would be 41 characters, the database's limit is 40: "
    "use at most 40 characters"
)
NAME_TOO_LONG = (
    "severities[1].name: severity name of 76 characters is too long for Slack: "
    "the case card's button text (<name>) would be 76 characters, Slack's limit is 75; "
    "the /severity modal's option text (<name>) would be 76 characters, Slack's limit is 75: "
    "use at most 75 characters"
)


def write_policy(
    folder: Path,
    first_id: str = "sev1",
    second_name: str = "Sev 2",
    description: str = "Everything is down",
    second_id: str = "sev2",
) -> Path:
    """Two severities; the first id is on line 5, the second name on line 11."""
    path = folder / "limits.yaml"
    path.write_text(
        "id: limits\n"
        "name: Limits\n"
        "default: true\n"
        "severities:\n"
        f"  - id: {first_id}\n"  # line 5
        "    name: Sev 1\n"
        f'    description: "{description}"\n'
        "    calendar: 24/7\n"
        "    targets: {first_response: 1h}\n"
        f"  - id: {second_id}\n"  # line 10
        f"    name: {second_name}\n"  # line 11
        "    calendar: 24/7\n"
        "    targets: {first_response: 4h}\n",
        encoding="utf-8",
    )
    return path


# --- policy check -----------------------------------------------------------------------


def test_a_severity_id_too_long_for_the_cards_action_id_is_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 255)
    assert check_policies(path) == [f"{path}:5: {ID_TOO_LONG_FOR_BOTH}"]


def test_a_severity_id_too_long_for_the_modals_option_value_is_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 151)
    assert check_policies(path) == [f"{path}:5: {ID_TOO_LONG_FOR_THE_MODAL}"]


def test_a_severity_name_too_long_for_button_and_option_text_is_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, second_name="N" * 76)
    assert check_policies(path) == [f"{path}:11: {NAME_TOO_LONG}"]


def test_a_severity_id_too_long_for_a_cases_column_is_refused(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 41)
    assert check_policies(path) == [f"{path}:5: {ID_TOO_LONG_TO_STORE}"]


def test_the_longest_allowed_id_and_name_pass(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 40, second_name="N" * 75)
    assert check_policies(path) == []


def test_both_problems_are_reported_with_their_lines(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 255, second_name="N" * 76)
    assert check_policies(path) == [
        f"{path}:5: {ID_TOO_LONG_FOR_BOTH}",
        f"{path}:11: {NAME_TOO_LONG}",
    ]


def test_policy_check_on_the_command_line(tmp_path: Path) -> None:
    path = write_policy(tmp_path, first_id="s" * 255)
    result = CliRunner().invoke(policy_cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{path}:5: {ID_TOO_LONG_FOR_BOTH}"]


def test_the_limits_come_from_the_renderers_prefixes() -> None:
    from bot.policies import limits  # new with these limits

    assert render.SET_SEVERITY_ACTION == limits.SET_SEVERITY_ACTION == "set_severity"
    longest = min(
        limits.ACTION_ID_MAX - len(f"{render.SET_SEVERITY_ACTION}:"),
        limits.OPTION_VALUE_MAX,
        limits.SEVERITY_COLUMN_MAX,
    )
    assert limits.longest(limits.SEVERITY_ID_SLOTS) == longest == 40
    assert limits.longest(limits.SEVERITY_NAME_SLOTS) == 75


@pytest.mark.process
def test_policies_do_not_import_slack() -> None:
    code = (
        "import sys\n"
        "import bot.policies, bot.policies.limits, bot.policies.loader, bot.cli.policy\n"
        "found = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('slack_sdk', 'slack_bolt') or m == 'bot.slack'\n"
        "               or m.startswith('bot.slack.'))\n"
        "print(found)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_case_snapshot_from_before_the_limits_still_rebuilds(tmp_path: Path) -> None:
    (loaded,) = load_policies(write_policy(tmp_path))
    content = loaded.content
    content["severities"][0]["id"] = "s" * 255
    with pytest.raises(ValueError, match="severity id of 255 characters is too long"):
        Policy.model_validate(content)
    old = Policy.from_snapshot(content)  # a case opened before the check keeps working
    # Its card leaves out the one button Slack would refuse, instead of the whole card.
    _, blocks = render.case_card(case_view(old, "sev2"), old)
    [buttons] = [b["elements"] for b in blocks if b.get("block_id") == "severity"]
    assert [b["action_id"] for b in buttons] == ["set_severity:sev2"]
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]


# --- what the renderers build from the longest allowed ids ------------------------------


def case_view(policy: Policy, severity: str) -> CaseView:
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return CaseView(
        id=2**63 - 1,  # the longest database id, for the button value
        number=99999,
        team_id="T0TEAM0001",
        channel_id=SUPPORT,
        thread_ts="1767603600.000100",
        requester_id=CUSTOMER,
        opened_by=ENGINEER,
        permalink=None,
        status="open",
        severity=severity,
        opened_at=at,
        first_response_due=at,
        first_response_at=None,
        first_response_by=None,
        next_response_due=None,
        assignee_id=None,
        card_ts=None,
    )


def texts(value: Any) -> list[str]:
    """Every plain_text text in a view or blocks."""
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "plain_text" else []
        return own + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


@pytest.fixture
def longest(tmp_path: Path) -> Policy:
    path = write_policy(
        tmp_path,
        first_id="a" * 40,
        second_id="b" * 40,
        second_name="N" * 75,
        description="Broad impact: " + "every customer is affected " * 10,
    )
    (policy,) = load_policies(path)
    return policy


def test_the_card_of_the_longest_allowed_ids_is_one_slack_takes(longest: Policy) -> None:
    first, second = longest.ordered_severities
    _, blocks = render.case_card(case_view(longest, first.id), longest)
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    [buttons] = [b["elements"] for b in blocks if b.get("block_id") == "severity"]
    assert [b["action_id"] for b in buttons] == [
        f"set_severity:{first.id}",
        f"set_severity:{second.id}",
    ]
    assert [b["value"] for b in buttons] == [
        f"{2**63 - 1}:{first.id}",
        f"{2**63 - 1}:{second.id}",
    ]
    assert [b["text"]["text"] for b in buttons] == ["Sev 1", "N" * 75]
    assert max(len(b["action_id"]) for b in buttons) <= 255
    assert max(len(b["value"]) for b in buttons) <= 2000
    assert max(len(t) for t in texts(blocks)) <= 75


def test_the_modal_of_the_longest_allowed_ids_round_trips(longest: Policy) -> None:
    first, second = longest.ordered_severities
    label = f"CASE-99999: {second.name}, <@{CUSTOMER}> checkout is down"
    levels = [(s.id, s.name, s.description or "") for s in longest.ordered_severities]
    view = views.severity_modal([(99999, label)], levels, SUPPORT, second.id)
    View(**view).validate_json()
    case_select, level_select = (b["element"] for b in view["blocks"][:2])
    # Values are never cut: each comes back whole and finds its severity.
    assert [o["value"] for o in level_select["options"]] == [first.id, second.id]
    assert level_select["initial_option"]["value"] == second.id
    assert [o["text"]["text"] for o in level_select["options"]] == ["Sev 1", "N" * 75]
    [description] = [o["description"]["text"] for o in level_select["options"][:1]]
    assert description == (
        "Broad impact: every customer is affected every customer is affected every…"
    )
    # Display text is cut to 75 with an ellipsis, and shows no raw mention.
    [case_text] = [o["text"]["text"] for o in case_select["options"]]
    assert case_text == f"CASE-99999: {'N' * 62}…"
    assert max(len(t) for t in texts(view)) <= 75
    assert all(len(o["value"]) <= 150 for o in level_select["options"])
    submitted = {
        "state": {
            "values": {
                "case": {"pick": {"selected_option": {"value": "99999"}}},
                "level": {"pick": {"selected_option": level_select["options"][1]}},
                "reason": {"pick": {"value": None}},
            }
        }
    }
    values, errors = views.submitted(submitted)
    assert errors == {}
    assert longest.severity(values["level"]) is second


def test_option_text_is_cut_with_an_ellipsis_and_values_never() -> None:
    long_id = "x" * 150
    label = "CASE-7: " + "word " * 20
    view = views.severity_modal([(7, label)], [(long_id, "High", "")], SUPPORT)
    View(**view).validate_json()
    [case_option] = view["blocks"][0]["element"]["options"]
    [level_option] = view["blocks"][1]["element"]["options"]
    assert case_option == {
        "text": {"type": "plain_text", "text": label[:74].rstrip() + "…", "emoji": True},
        "value": "7",
    }
    assert level_option["value"] == long_id
    assert "description" not in level_option


def test_an_option_whose_value_slack_would_refuse_is_left_out() -> None:
    # Only a case snapshot from before the check can hold such an id; the modal still opens.
    view = views.severity_modal([(1, "CASE-1")], [("y" * 151, "Old", ""), ("ok", "Ok", "")], "C1")
    View(**view).validate_json()
    assert [o["value"] for o in view["blocks"][1]["element"]["options"]] == ["ok"]


# --- people in plain text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "shown"),
    [
        (f"<@{CUSTOMER}> it broke", "@someone it broke"),
        ("ping <@W222>", "ping @someone"),
        ("<@W222|bob> and <@U0AAAAAA1>", "@bob and @someone"),
        (f"<#{SUPPORT}|support> is down", "#support is down"),
        (f"<#{SUPPORT}> is down", "#channel is down"),
        ("<!subteam^S0ONCALL01|@oncall> help", "@oncall help"),
        ("<!subteam^S0ONCALL01> help", "@group help"),
        ("<!here> it broke", "@here it broke"),
        ("<!date^1767607200^{date_short}|Mon 05 Jan> deploy", "Mon 05 Jan deploy"),
        ("see <https://status.example.com|the status page>", "see the status page"),
        ("see <https://status.example.com>", "see https://status.example.com"),
        ("a &lt; b &amp;&amp; c &gt; d &amp;lt;", "a < b && c > d &lt;"),
        ("cut off by a shorter label <@U0ENG", "cut off by a shorter label …"),
        ("cut off in an entity &am", "cut off in an entity …"),
        ("latency < 1h", "latency < 1h"),
    ],
)
def test_plain_text_shows_no_markup(markup: str, shown: str) -> None:
    assert views.plain_text(markup) == shown


def test_plain_text_shows_people_by_name_when_names_are_known() -> None:
    names = {CUSTOMER: "ana"}.get
    assert views.plain_text(f"<@{CUSTOMER}> and <@W222>", names) == "@ana and @someone"
    view = views.severity_modal(
        [(1, f"CASE-1: Sev 1, <@{CUSTOMER}> it broke")], [("sev1", "Sev 1", "")], "C1", names=names
    )
    assert view["blocks"][0]["element"]["options"][0]["text"]["text"] == (
        "CASE-1: Sev 1, @ana it broke"
    )


def test_the_severity_modal_shows_no_raw_mention(bot: Bot) -> None:
    for _ in range(2):  # two open cases: `/severity` alone asks which, in a modal
        ts = bot.slack.post_user_message(SUPPORT, CUSTOMER, f"<@{ENGINEER}> can you look?")
        event = payloads.reaction_added(
            team=bot.slack.team_id, channel=SUPPORT, ts=ts, user=ENGINEER, item_user=CUSTOMER
        )
        assert bot.driver.event(event).status == 200
        bot.settle()
    status, ack, answers = run(bot, "/severity", "")
    assert (status, ack, answers) == (200, None, [])
    # The modal opens from the listener, just after the ack.
    [call] = [c for c in bot.slack.wait_for("views.open") if c.ok]
    view = call.params["view"]
    View(**view).validate_json()
    assert not [t for t in texts(view) if "<@" in t or ENGINEER in t]
    labels = [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]]
    # The person mentioned is shown by the name Slack shows them by.
    assert labels == [
        "CASE-1: SEV 3 - Medium, @sam can you look?",
        "CASE-2: SEV 3 - Medium, @sam can you look?",
    ]
