"""Three workspaces for the tests of workspace-owned setups: Acme and Globex each with a
policy of their own (`workspaces:`, an on-call schedule and a chain that pages it), Initech
with none; their people and channels in the Slack stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.support.fake_slack import FakeSlack
from tests.support.installs import STATE_SECRET as STATE_SECRET

ACME, GLOBEX, INITECH = "T0ACME0001", "T0GLOBEX01", "T0INITECH1"
ACME_CH, GLOBEX_CH, INITECH_CH = "C0ACMESUP1", "C0GLOBSUP1", "C0INITSUP1"
ACME_USER, GLOBEX_USER, INITECH_USER = "U0ACMEUSR1", "U0GLOBUSR1", "U0INITUSR1"
ACME_ENG, GLOBEX_ENG, GLOBEX_COVER = "U0ACMEENG1", "U0GLOBENG1", "U0GLOBCOV1"
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
PEOPLE = {
    ACME: (ACME_USER, ACME_ENG),
    GLOBEX: (GLOBEX_USER, GLOBEX_ENG, GLOBEX_COVER),
    INITECH: (INITECH_USER,),
}


def policy(key: str, team: str, engineer: str, channel: str, hook: str | None = None) -> str:
    """The workspace's policy, its weekly report in its support channel; its chain also
    pages the webhook at `hook` (a local receiver: plain http, so marked insecure) when
    given."""
    also = f', {{webhook: "{hook}", insecure: true}}' if hook else ""
    return f"""
id: {key}
name: {key.title()} support
default: true
workspaces: [{team}]
report_channel: {channel}
responders: {{users: [{engineer}]}}
severities:
  - id: sev1
    name: SEV 1
    calendar: 24/7
    targets: {{first_response: 1h}}
    page: {key}-urgent
  - id: sev3
    name: SEV 3
    calendar: 24/7
    targets: {{first_response: 8h}}
oncall:
  schedules:
    {key}-primary:
      timezone: UTC
      layers:
        - rotation: [{engineer}]
          shift: 1w
          start: "2026-11-30 09:00"
  escalations:
    {key}-urgent:
      levels:
        - {{notify: ["schedule:{key}-primary"{also}], wait: 10m}}
"""


def write_policies(folder: Path, hooks: dict[str, str] | None = None) -> None:
    """Acme's and Globex's policies, each paging its own webhook in `hooks` if given."""
    hooks = hooks or {}
    folder.mkdir(exist_ok=True)
    (folder / "acme.yaml").write_text(policy("acme", ACME, ACME_ENG, ACME_CH, hooks.get(ACME)))
    (folder / "globex.yaml").write_text(
        policy("globex", GLOBEX, GLOBEX_ENG, GLOBEX_CH, hooks.get(GLOBEX))
    )


def seat_everyone(fake: FakeSlack) -> None:
    """Each workspace's people and its support channel, in the stand-in."""
    for team, people in PEOPLE.items():
        for user in people:
            fake.add_user(user, user.lower(), user, team_id=team)
    for team, channel in ((ACME, ACME_CH), (GLOBEX, GLOBEX_CH), (INITECH, INITECH_CH)):
        fake.add_channel(channel, channel.lower(), bot_member=True, team_id=team)


# What each workspace's calls must never name: the others' people, channels and schedules.
THEIRS = {
    ACME: ("U0GLOB", "globex", GLOBEX_CH, "U0INIT", INITECH_CH),
    GLOBEX: ("U0ACME", "acme", ACME_CH, "U0INIT", INITECH_CH),
}
NOT_SET_UP = (
    f"I could not open a case from your :ticket: in <#{INITECH_CH}>: this workspace is not "
    "set up for escalations yet. Ask whoever runs the support desk to add it to a "
    "policy's `workspaces`."
)
