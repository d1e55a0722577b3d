"""`status_page`: where customers follow an incident, shown on the card of a severity that
pages and in every page message; a severity may name its own."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CUSTOMER, SUPPORT
from tests.support.cases import open_case
from tests.support.paging import POLICY, PRIMARY, dm_to, paging_bot_for
from tests.support.slash_commands import run

STATUS = "https://status.example.com/incidents"
WITH_STATUS = POLICY.replace(
    "default_severity: sev1\n", f"default_severity: sev1\nstatus_page: {STATUS}\n"
)


def contexts(blocks: list) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


def test_the_card_of_a_paging_severity_and_its_pages_show_the_status_page(
    db_url: str, tmp_path: Path
) -> None:
    assert WITH_STATUS != POLICY
    for bot in paging_bot_for(db_url, tmp_path, WITH_STATUS):
        open_case(bot)  # SEV 1, which pages
        [case] = bot.cases()
        card = bot.slack.message(SUPPORT, case.card_ts or "")
        assert card is not None
        assert contexts(card.blocks or []) == [f"Status page: <{STATUS}>"]
        page = dm_to(bot, PRIMARY)
        assert str(page.params["text"]).split("\n")[1:] == [
            f"Requester: <@{CUSTOMER}>, in <#{SUPPORT}>",
            f"Status page: <{STATUS}>",
            "> it broke",
        ]
        # SEV 3 pages nobody: its card leaves the status page out.
        assert run(bot, "/severity", "CASE-1 sev3")[2] == ["CASE-1 is now SEV 3."]
        card = bot.slack.message(SUPPORT, case.card_ts or "")
        assert card is not None
        assert contexts(card.blocks or []) == []
