"""The App Home tab through the real endpoint: published on `app_home_opened` with a valid
home view (a responder sees what is assigned to them, the team's cases at risk with the
breached one on top, and who is on call; a requester sees their own requests), and
published again when a case of theirs changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.app_home import open_home
from tests.support.bot_messages import due
from tests.support.cases import open_case
from tests.support.clock import forward
from tests.support.paging import PRIMARY, SECOND, link
from tests.support.slash_commands import run


def valid(view: dict[str, Any]) -> list[tuple[str, str]]:
    """Check the limits Slack puts on a home view; returns (block type, text) pairs."""
    assert view["type"] == "home" and 0 < len(view["blocks"]) <= 100
    out = []
    for block in view["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
            out.append(("header", block["text"]["text"]))
        elif block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000
            out.append(("section", block["text"]["text"]))
        else:
            assert block["type"] == "context" and len(block["elements"]) == 1
            out.append(("context", block["elements"][0]["text"]))
    return out


def test_a_responder_and_a_requester_each_get_their_home(paging_bot: Bot) -> None:
    bot = paging_bot
    for who in (PRIMARY, SECOND):
        bot.slack.add_member(SUPPORT, who)
    open_case(bot)  # CASE-1, SEV 1: first response due 04:00 (Saturday 03:00 + 1h)
    forward(bot, 10)
    open_case(bot)  # CASE-2 at 03:10: due 04:10
    assert run(bot, "/case", "take CASE-2", user=ENGINEER)[2] == [
        "You have CASE-2; its page is acknowledged: paging has stopped."
    ]
    bot.clock.advance(timedelta(minutes=55))  # 04:05: CASE-1 is breached
    bot.settle()
    [one, two] = bot.cases()
    one_link, two_link = f"<{one.permalink}|CASE-1>", f"<{two.permalink}|CASE-2>"
    two_due = f"• {two_link} SEV 1 in <#{SUPPORT}>: due " + due(
        "1768018200", "Sat 10 Jan 2026 04:10 UTC"
    )
    sections = valid(open_home(bot, ENGINEER))
    assert sections == [
        ("header", "Assigned to you"),
        (
            "section",
            two_due,
        ),
        ("header", "At risk"),
        (
            "section",
            f"• {one_link} SEV 1 in <#{SUPPORT}>: :rotating_light: breached, was due "
            f"{due('1768017600', 'Sat 10 Jan 2026 04:00 UTC')}\n{two_due}",
        ),
        ("header", "On call"),
        (
            "section",
            f"*platform* (Europe/Berlin): <@{PRIMARY}> is on call; next <@{SECOND}> from "
            "Mon 12 Jan 2026 09:00 CET.",
        ),
        ("context", f"Updated {due('1768017900', 'Sat 10 Jan 2026 04:05 UTC')}"),
    ]
    assert one.number == 1
    sections = valid(open_home(bot, CUSTOMER))
    assert sections[:2] == [
        ("header", "Your requests"),
        (
            "section",
            f"{two_due}\n"
            f"• {one_link} SEV 1 in <#{SUPPORT}>: :rotating_light: breached, was due "
            f"{due('1768017600', 'Sat 10 Jan 2026 04:00 UTC')}",
        ),
    ]
    assert [s for s in sections if s[1] in ("Assigned to you", "At risk")] == []


def test_the_home_is_published_again_when_a_case_of_theirs_changes(paging_bot: Bot) -> None:
    bot = paging_bot
    open_case(bot)
    open_home(bot, CUSTOMER)
    published = len(bot.slack.calls("views.publish"))
    assert run(bot, "/case", "resolve CASE-1 fixed", user=ENGINEER)[2] == ["CASE-1 is resolved."]
    calls = bot.slack.calls("views.publish")
    assert [c.params["user_id"] for c in calls[published:]] == [CUSTOMER]
    sections = valid(bot.slack.home_view(CUSTOMER) or {})
    assert sections[1] == ("section", f"• {link(bot)} SEV 1 in <#{SUPPORT}>: resolved")


def test_cases_of_a_channel_the_viewer_is_not_in_stay_off_their_home(paging_bot: Bot) -> None:
    """A private channel's cases show only to its members: App Home lists the team's cases
    at risk from the channels the viewer is in."""
    import re

    bot = paging_bot
    secret = "G0SECRET01"
    bot.slack.add_channel(secret, "secret-incident", bot_member=True, is_private=True)
    bot.slack.add_member(SUPPORT, ENGINEER)
    open_case(bot)  # CASE-1 in #support
    ts = bot.slack.post_user_message(secret, CUSTOMER, "the secret thing broke")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=secret, ts=ts, user=CUSTOMER, item_user=CUSTOMER
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert len(bot.cases()) == 2

    def at_risk() -> list[str]:
        shown = valid(open_home(bot, ENGINEER))
        [section] = [
            t for i, (kind, t) in enumerate(shown) if shown[i - 1] == ("header", "At risk")
        ]
        return re.findall(r"\|(CASE-\d+)>", section)

    assert at_risk() == ["CASE-1"]
    bot.slack.add_member(secret, ENGINEER)
    bot.runtime.intake._directories.clear()  # as when the membership cache runs out
    assert sorted(at_risk()) == ["CASE-1", "CASE-2"]
