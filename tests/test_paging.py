"""Paging through the real endpoint, on a fast-forwarded clock shared with the Slack
stand-in, so the call log's instants are the bot's: a SEV1 opened on Saturday at 03:00
pages whoever is on call, climbs to level 2 when nobody answers, and stops at the first
acknowledgement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import CaseEvent, Page, Timer
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot
from tests.support import payloads
from tests.support.buttons import press_ack
from tests.support.cases import open_case, say
from tests.support.clock import forward
from tests.support.metrics import metrics
from tests.support.paging import (
    LEAD,
    LEADS,
    ONCALL,
    POLICY,
    PRIMARY,
    SECOND,
    STRANGER,
    dm_line,
    dm_to,
    link,
    page_line,
    pages,
    paging_bot_for,
    posts,
)
from tests.support.slash_commands import run


def test_a_saturday_sev1_pages_the_primary_then_level_2_and_stops_at_the_ack(
    paging_bot: Bot,
) -> None:
    bot = paging_bot
    before = metrics(bot)
    open_case(bot)
    level1 = "level 1 of the escalation chain, round 1"
    level2 = "level 2 of the escalation chain, round 1"
    assert pages(bot) == [
        ("03:00", PRIMARY, dm_line(bot, level1)),
        ("03:00", ONCALL, page_line(bot, f"<@{PRIMARY}> paged", level1)),
    ]
    forward(bot, 9)
    assert len(pages(bot)) == 2  # nothing before the wait is over
    forward(bot, 1)
    assert pages(bot)[2:] == [
        ("03:10", LEAD, dm_line(bot, level2)),
        ("03:10", ONCALL, page_line(bot, f"<@{LEAD}> <!subteam^{LEADS}> paged", level2)),
    ]
    forward(bot, 2)
    assert press_ack(bot, dm_to(bot, LEAD), LEAD) == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]
    [case] = bot.cases()
    assert case.assignee_id == LEAD  # an acknowledgement means "mine"
    announced = (
        f":eyes: <@{LEAD}> acknowledged the page and took {link(bot)} "
        "<!date^1768014720^{date_short_pretty} at {time}|Sat 10 Jan 2026 03:12 UTC>; "
        "paging has stopped."
    )
    assert posts(bot)[-2:] == [("03:12", SUPPORT, announced), ("03:12", ONCALL, announced)]
    seen = metrics(bot)
    for name, count in (
        ('escbot_pages_total{chain="urgent",level="1"}', 1.0),
        ('escbot_pages_total{chain="urgent",level="2"}', 1.0),
        ('escbot_page_ack_seconds_count{chain="urgent"}', 1.0),
        ('escbot_page_ack_seconds_bucket{chain="urgent",le="600.0"}', 0.0),  # 12 minutes
        ('escbot_page_ack_seconds_bucket{chain="urgent",le="900.0"}', 1.0),
    ):
        assert seen.get(name, 0.0) - before.get(name, 0.0) == count, name
    before = pages(bot)
    forward(bot, 120)  # past every later step of the chain: round 2 and the fallback
    assert pages(bot) == before
    with bot.runtime.sessions() as session:
        [page] = session.execute(select(Page)).scalars()
        assert (page.status, page.acknowledged_by) == ("acknowledged", LEAD)
        steps = session.execute(
            select(Timer.target, Timer.due_at, Timer.status, Timer.note)
            .where(Timer.kind == "page_step")
            .order_by(Timer.id)
        ).all()
    # The step booked for 03:25 is called off by the acknowledgement.
    assert [(t, d.strftime("%H:%M"), s, n) for t, d, s, n in steps] == [
        (f"{page.id}/0", "03:00", "fired", None),
        (f"{page.id}/1", "03:10", "fired", None),
        (f"{page.id}/2", "03:25", "cancelled", f"acknowledged by {LEAD}"),
    ]


def test_a_stranger_is_refused_and_two_acknowledgements_announce_once(paging_bot: Bot) -> None:
    bot = paging_bot
    open_case(bot)
    page = dm_to(bot, PRIMARY)
    assert press_ack(bot, page, STRANGER) == [
        "You cannot acknowledge CASE-1: you were not paged for it and are not on its support team."
    ]
    assert run(bot, "/case", "ack CASE-1", user=STRANGER, channel=ONCALL)[2] == [
        "You cannot acknowledge CASE-1: you were not paged for it and are not on its support team."
    ]
    forward(bot, 1)
    assert press_ack(bot, page, PRIMARY) == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]
    # A responder who was not paged may acknowledge too, but the page is already answered.
    assert run(bot, "/case", "ack CASE-1", user=ENGINEER, channel=ONCALL)[2] == [
        f"CASE-1 was already acknowledged by <@{PRIMARY}> at Sat 10 Jan 2026 03:01 UTC."
    ]
    assert press_ack(bot, page, PRIMARY) == [
        f"CASE-1 was already acknowledged by <@{PRIMARY}> at Sat 10 Jan 2026 03:01 UTC."
    ]
    acks = [p for p in posts(bot) if "acknowledged the page" in p[2]]
    assert [(at, channel) for at, channel, _ in acks] == [("03:01", SUPPORT), ("03:01", ONCALL)]
    with bot.runtime.sessions() as session:
        kinds = list(session.execute(select(CaseEvent.kind).order_by(CaseEvent.id)).scalars())
    assert kinds == ["opened", "page_started", "paged", "page_acknowledged", "assigned"]


def test_the_ack_emoji_on_a_page_acknowledges_it(paging_bot: Bot) -> None:
    bot = paging_bot
    open_case(bot)
    page = dm_to(bot, PRIMARY)
    assert page.response is not None
    event = payloads.reaction_added(
        team=bot.slack.team_id,
        channel=page.response["channel"],
        ts=page.response["ts"],
        user=PRIMARY,
        reaction="eyes",
        item_user=bot.slack.bot_user_id,
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    [answer] = [c for c in bot.slack.calls("chat.postEphemeral") if c.ok]
    assert (answer.params["user"], answer.params["text"]) == (
        PRIMARY,
        "You acknowledged the page for CASE-1 and took it: paging has stopped.",
    )
    # The same emoji on any other message does nothing.
    other = bot.slack.post_user_message(SUPPORT, CUSTOMER, "looking")
    event = payloads.reaction_added(
        team=bot.slack.team_id, channel=SUPPORT, ts=other, user=ENGINEER, reaction="eyes"
    )
    assert bot.driver.event(event).status == 200
    bot.settle()
    assert len([c for c in bot.slack.calls("chat.postEphemeral") if c.ok]) == 1


def test_resolving_mid_climb_stops_it(paging_bot: Bot) -> None:
    bot = paging_bot
    open_case(bot)
    forward(bot, 10)
    assert [p[1] for p in pages(bot)] == [PRIMARY, ONCALL, LEAD, ONCALL]
    forward(bot, 5)
    assert run(bot, "/case", "resolve CASE-1 fixed", user=ENGINEER)[2] == ["CASE-1 is resolved."]
    assert pages(bot)[-1] == (
        "03:15",
        ONCALL,
        f"Paging for {link(bot)} has stopped: the case is resolved.",
    )
    before = pages(bot)
    forward(bot, 120)
    assert pages(bot) == before


def test_lowering_out_of_the_paging_severity_stops_it(paging_bot: Bot) -> None:
    bot = paging_bot
    open_case(bot)
    forward(bot, 3)
    assert run(bot, "/severity", "CASE-1 sev3", user=ENGINEER)[2] == ["CASE-1 is now SEV 3."]
    assert pages(bot)[-1] == (
        "03:03",
        ONCALL,
        f"Paging for {link(bot)} has stopped: the severity was lowered.",
    )
    before = pages(bot)
    forward(bot, 60)
    assert pages(bot) == before
    # Raised again: a new page starts at once.
    assert run(bot, "/severity", "CASE-1 sev1", user=ENGINEER)[2] == ["CASE-1 is now SEV 1."]
    assert [p[:2] for p in pages(bot)[len(pages(bot)) - 2 :]] == [
        ("04:03", PRIMARY),
        ("04:03", ONCALL),
    ]


def test_with_nobody_on_call_the_fallback_is_paged_and_the_channel_warned(
    db_url: str, tmp_path: Path
) -> None:
    # The only layer starts next month: nobody is on call on Saturday.
    policy = POLICY.replace('start: "2026-01-05 09:00"', 'start: "2026-02-02 09:00"')
    policy = policy.replace(f'fallback: ["channel:{ONCALL}"]', f'fallback: ["user:{SECOND}"]')
    for bot in paging_bot_for(db_url, tmp_path, policy):
        open_case(bot)
        level1 = "level 1 of the escalation chain, round 1"
        assert pages(bot) == [
            ("03:00", SECOND, dm_line(bot, level1)),
            ("03:00", ONCALL, page_line(bot, f"<@{SECOND}> paged", level1)),
            (
                "03:00",
                ONCALL,
                f":warning: Nobody is on call in `platform` for {link(bot)}: paging the "
                f"fallback: <@{SECOND}>.",
            ),
        ]


def test_an_acknowledged_page_with_no_reply_pages_again_and_a_reply_prevents_it(
    db_url: str, tmp_path: Path
) -> None:
    policy = POLICY.replace(
        "      channel: C0ONCALL01\n", "      channel: C0ONCALL01\n      repage_after: 30m\n"
    )
    assert "repage_after" in policy
    for bot in paging_bot_for(db_url, tmp_path, policy):
        root = open_case(bot)
        forward(bot, 1)
        assert press_ack(bot, dm_to(bot, PRIMARY), PRIMARY) == [
            "You acknowledged the page for CASE-1 and took it: paging has stopped."
        ]
        forward(bot, 29)
        assert [p[:2] for p in pages(bot) if p[1] == PRIMARY] == [("03:00", PRIMARY)]
        forward(bot, 1)  # 03:31: half an hour after the acknowledgement, nobody has replied
        assert [p[:2] for p in pages(bot) if p[1] == PRIMARY] == [
            ("03:00", PRIMARY),
            ("03:31", PRIMARY),
        ]
        # Acknowledged again, then a responder answers in the thread: no third page.
        assert press_ack(bot, dm_to(bot, PRIMARY), PRIMARY) == [
            "You acknowledged the page for CASE-1: paging has stopped."
        ]
        assert say(bot, ENGINEER, "on it", root) == 200
        bot.settle()
        forward(bot, 60)
        assert [p[:2] for p in pages(bot) if p[1] == PRIMARY] == [
            ("03:00", PRIMARY),
            ("03:31", PRIMARY),
        ]
        with bot.runtime.sessions() as session:
            kinds = list(
                session.execute(
                    select(CaseEvent.kind)
                    .where(CaseEvent.kind.like("%page%"))
                    .order_by(CaseEvent.id)
                ).scalars()
            )
            notes = list(
                session.execute(
                    select(Timer.status, Timer.note)
                    .where(Timer.kind == "repage")
                    .order_by(Timer.id)
                ).all()
            )
        assert kinds == [
            "page_started",
            "paged",
            "page_acknowledged",
            "repaged",
            "paged",
            "page_acknowledged",
        ]
        assert [tuple(n) for n in notes] == [("fired", None), ("dropped", "a responder replied")]


def test_case_ack_works_where_the_page_is_and_nowhere_else(paging_bot: Bot) -> None:
    """Like every command about a case, `/case ack` names a case only where it can be
    seen: its own channel, or where its page was posted (the chain's channel, a direct
    message); elsewhere the answer is the one for a case that does not exist."""
    bot = paging_bot
    bot.slack.add_channel("C0ELSEWHR1", "elsewhere", bot_member=True)
    open_case(bot)
    assert run(bot, "/case", "ack CASE-1", user=PRIMARY, channel="C0ELSEWHR1")[2] == [
        "No case CASE-1 in this channel."
    ]
    assert run(bot, "/case", "ack CASE-7", user=PRIMARY, channel=ONCALL)[2] == [
        "No case CASE-7 in this channel."
    ]
    dm = dm_to(bot, PRIMARY).response
    assert dm is not None
    assert run(bot, "/case", "ack CASE-1", user=PRIMARY, channel=dm["channel"])[2] == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]


def test_an_answered_page_loses_its_buttons_and_one_not_yet_out_is_never_sent(
    paging_bot: Bot,
) -> None:
    bot = paging_bot
    open_case(bot)
    forward(bot, 9)
    # At 03:10 Slack rate-limits the first post, level 2's direct message, for ten minutes.
    bot.slack.fail("chat.postMessage", status=429, retry_after=600, times=1)
    forward(bot, 1)
    assert [p[:2] for p in pages(bot)] == [
        ("03:00", PRIMARY),
        ("03:00", ONCALL),
        ("03:10", ONCALL),
    ]
    forward(bot, 1)
    assert run(bot, "/case", "ack CASE-1", user=PRIMARY, channel=ONCALL)[2] == [
        "You acknowledged the page for CASE-1 and took it: paging has stopped."
    ]
    forward(bot, 30)  # long past the rate limit: the direct message to the lead never goes
    assert [p[1] for p in pages(bot)].count(LEAD) == 0
    sent = {
        (str(c.response["channel"]), str(c.response["ts"]))
        for c in bot.slack.calls("chat.postMessage")
        if c.ok
        and c.response
        and c.params["channel"] in (PRIMARY, ONCALL)
        and "paged" in str(c.params["text"])
    }
    updates = [c for c in bot.slack.calls("chat.update") if c.ok and "page for" in c.params["text"]]
    assert {(str(c.params["channel"]), str(c.params["ts"])) for c in updates} == sent
    assert len(updates) == 3
    closed = (
        f":white_check_mark: The page for {link(bot)} (SEV 1) was acknowledged by "
        f"<@{PRIMARY}> <!date^1768014660^{{date_short_pretty}} at {{time}}|Sat 10 Jan 2026 "
        "03:11 UTC>."
    )
    assert {c.params["text"] for c in updates} == {closed}
    assert all(
        c.params["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": closed}}]
        for c in updates
    )


def test_a_page_going_out_while_it_is_acknowledged_loses_its_button_once_out(
    paging_bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.db.models import OutboxMessage

    bot = paging_bot
    # Nothing goes out yet: the primary's direct message is about to be sent when the
    # acknowledgement lands.
    monkeypatch.setattr(bot.runtime.deliverer, "drain", lambda limit=1000: 0)
    open_case(bot)
    with bot.runtime.sessions.begin() as session:
        [dm] = session.execute(
            select(OutboxMessage).where(
                OutboxMessage.intent == "page_dm", OutboxMessage.channel_id == PRIMARY
            )
        ).scalars()
        dm.status = "sending"  # claimed by a delivery still in flight
        dm_id = dm.id
    assert run(bot, "/case", "ack CASE-1", user=PRIMARY, channel=SUPPORT)[2] == []
    monkeypatch.undo()
    # The delivery in flight finishes (here: found unanswered and sent again).
    with bot.runtime.sessions.begin() as session:
        row = session.get(OutboxMessage, dm_id)
        assert row is not None and row.status == "sending"
        row.next_attempt_at = bot.clock.now()
    bot.settle()
    call = dm_to(bot, PRIMARY)
    assert call.ok and call.response is not None
    [update] = [
        c for c in bot.slack.calls("chat.update") if c.ok and c.params["ts"] == call.response["ts"]
    ]
    closed = (
        f":white_check_mark: The page for {link(bot)} (SEV 1) was acknowledged by "
        f"<@{PRIMARY}> <!date^1768014000^{{date_short_pretty}} at {{time}}|Sat 10 Jan 2026 "
        "03:00 UTC>."
    )
    assert update.params["text"] == closed


def test_a_step_rechecks_that_the_case_still_wants_its_chain(paging_bot: Bot) -> None:
    """Two changes of one case interleaved by two workers can leave a page climbing for a
    case whose severity no longer pages: each step asks the case again."""
    from sqlalchemy import text

    bot = paging_bot
    open_case(bot)
    assert [p[:2] for p in pages(bot)] == [("03:00", PRIMARY), ("03:00", ONCALL)]
    with bot.runtime.engine.begin() as conn:
        # The change that lowered the case, without the page noticing.
        conn.execute(text("UPDATE cases SET severity = 'sev3'"))
    forward(bot, 30)
    assert [p[:2] for p in pages(bot)][:2] == [("03:00", PRIMARY), ("03:00", ONCALL)]
    assert not [p for p in pages(bot) if p[1] in (SECOND, LEAD)]
    with bot.runtime.sessions() as session:
        [page] = session.execute(select(Page)).scalars()
        assert (page.status, page.note) == ("stopped", "the severity was lowered")
