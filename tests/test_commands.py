"""`/severity` and `/case` through the real endpoint, form-encoded and signed as Slack sends
them: every form answers at once, changes land with their thread line, card update and
timeline entry, and a case of another channel is answered as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import CaseEvent, Feedback, InboxEvent, Timer
from tests.conftest import CUSTOMER, ENGINEER, SUPPORT, Bot, make_bot
from tests.support import payloads
from tests.support.bot_messages import is_card, thread_lines
from tests.support.cases import kinds, open_case, say
from tests.support.fake_slack import FakeSlack
from tests.support.slash_commands import run

OTHER = "C0OTHERCH2"
ROOT = Path(__file__).parent.parent


def test_severity_by_case_number_moves_the_due_time_and_says_so(bot: Bot) -> None:
    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=5))
    status, ack, answers = run(bot, "/severity", "CASE-1 sev1 checkout is down")
    assert (status, ack) == (200, None)
    assert answers == ["CASE-1 is now SEV 1 - Critical."]
    [case] = bot.cases()
    assert case.severity == "sev1"
    assert case.first_response_due == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    # SEV 1 pages on-call (tests/test_paging.py has the pages themselves).
    assert kinds(bot) == ["opened", "severity_changed", "page_started", "paged"]
    [line] = thread_lines(bot, root)
    assert line == (
        f"<@{ENGINEER}> set severity to *SEV 1 - Critical* (was SEV 3 - Medium): checkout is"
        " down. First response due <!date^1767607200^{date_short_pretty} at {time}|"
        "Mon 05 Jan 2026 10:00 UTC>."
    )
    [update] = [c for c in bot.slack.calls("chat.update") if c.ok]
    assert "SEV 1 - Critical" in str(update.params["blocks"])
    # The same level again changes nothing, and says so.
    assert run(bot, "/severity", "1 critical")[2] == ["CASE-1 is already SEV 1 - Critical."]


def test_severity_without_a_case_needs_exactly_one_open_case(bot: Bot) -> None:
    assert run(bot, "/severity", "sev2")[2] == ["No open case in this channel."]
    open_case(bot)
    assert run(bot, "/severity", "high")[2] == ["CASE-1 is now SEV 2 - High."]
    open_case(bot)
    assert run(bot, "/severity", "sev1 it got worse")[2] == []  # two open cases: a modal asks
    # The modal opens from the listener, just after the ack.
    [view] = [c.params["view"] for c in bot.slack.wait_for("views.open") if c.ok]
    assert [o["value"] for o in view["blocks"][0]["element"]["options"]] == ["1", "2"]
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "sev1"
    assert view["blocks"][2]["element"]["initial_value"] == "it got worse"


def test_a_case_of_another_channel_is_answered_as_one_that_does_not_exist(bot: Bot) -> None:
    bot.slack.add_channel(OTHER, "other", bot_member=True)
    # Before CASE-1 exists anywhere, then once it exists in #support: the same bytes.
    forms = [("/severity", "CASE-1 sev1 outage"), ("/case", "show CASE-1"), ("/case", "take 1")]
    missing = [run(bot, command, text, channel=OTHER)[2] for command, text in forms]
    open_case(bot)
    elsewhere = [run(bot, command, text, channel=OTHER)[2] for command, text in forms]
    assert elsewhere == missing == [["No case CASE-1 in this channel."]] * 3
    assert run(bot, "/case", "show CASE-77")[2] == ["No case CASE-77 in this channel."]
    [case] = bot.cases()
    assert case.severity == "sev3"


def test_take_wait_reply_resolve_and_nothing_fires_afterwards(bot: Bot) -> None:
    root = open_case(bot)
    assert run(bot, "/case", "take CASE-1")[2] == ["You have CASE-1."]
    bot.clock.advance(timedelta(minutes=10))
    assert say(bot, ENGINEER, "can you send the logs?", root) == 200
    bot.settle()
    assert run(bot, "/case", "wait CASE-1 asked for logs")[2] == [
        "CASE-1 is waiting on the requester; its clocks are stopped."
    ]
    bot.clock.advance(timedelta(minutes=30))
    assert say(bot, CUSTOMER, "here they are", root) == 200  # resumes the clocks
    bot.settle()
    [case] = bot.cases()
    assert case.status == "open"
    bot.clock.advance(timedelta(minutes=20))
    assert run(bot, "/case", "resolve CASE-1 config fixed")[2] == ["CASE-1 is resolved."]
    assert thread_lines(bot, root) == [
        f"<@{ENGINEER}> took CASE-1.",
        f"<@{ENGINEER}> set CASE-1 waiting on the requester; its clocks are stopped:"
        " asked for logs.",
        f"<@{ENGINEER}> resolved CASE-1: config fixed.",
        ":white_check_mark: CASE-1 resolved after 1 h. First response: after 10 min, met with"
        " 5 h 50 min to spare. Waiting on the requester: 30 min. Breaches: 0.",
    ]
    bot.clock.advance(timedelta(days=3))
    bot.settle()
    assert len(thread_lines(bot, root)) == 4
    with bot.runtime.sessions() as session:
        # The case's timers; the schedules' handoffs are about no case.
        pending = select(Timer).where(Timer.status == "pending", Timer.case_id.is_not(None))
        assert session.execute(pending).all() == []
    assert kinds(bot)[-1] == "resolved"
    assert run(bot, "/case", "list")[2] == ["No open cases in this channel."]


def test_bad_input_gets_a_usage_message_at_once_and_changes_nothing(bot: Bot) -> None:
    open_case(bot)
    before = bot.count(InboxEvent)
    for command, text, expected in [
        ("/case", "frobnicate CASE-1", "`/case frobnicate` is not a command I know."),
        ("/case", "take", "Which case? Usage: `/case take CASE-n`, e.g. `/case take CASE-12`."),
        ("/case", "assign CASE-1 bob", "Usage: `/case assign CASE-n @someone`."),
        ("/case", "list everything", "Usage: `/case list [all]`"),
        ("/severity", "CASE-1", "Which severity for CASE-1?"),
        ("/case", "x" * 2001, "That is 2001 characters; a command takes at most 2000."),
    ]:
        status, ack, answers = run(bot, command, text)
        assert status == 200 and answers == []
        assert ack is not None and ack["response_type"] == "ephemeral"
        assert ack["text"].startswith(expected), (text, ack["text"])
    assert bot.count(InboxEvent) == before
    with bot.runtime.sessions() as session:
        assert session.execute(select(CaseEvent.kind)).scalars().all() == ["opened"]
    status, ack, _ = run(bot, "/case", "help")
    assert ack is not None and ack["text"].startswith("`/case list [all]`")


def test_an_unknown_level_is_refused_with_the_policy_levels(bot: Bot) -> None:
    open_case(bot)
    assert run(bot, "/severity", "CASE-1 sev9")[2] == [
        "'sev9' is not a severity of this policy: use one of sev1, sev2, sev3, sev4, sev5"
    ]


def press_card(bot: Bot, root: str, verb: str, user: str = ENGINEER) -> list[str]:
    """Press a case button on the card as it is now; returns the private answers."""
    [card] = [
        m for m in bot.slack.posted_messages(SUPPORT) if m.thread_ts == root and is_card(m.blocks)
    ]
    updates = [c for c in bot.slack.calls("chat.update") if c.ok and c.params["ts"] == card.ts]
    blocks = updates[-1].params["blocks"] if updates else card.blocks
    [button] = [
        e
        for b in blocks
        if b.get("block_id") == "case"
        for e in b["elements"]
        if e["action_id"] == f"case_action:{verb}"
    ]
    name = f"b{len(bot.slack.calls())}"
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=button["action_id"],
            value=button["value"],
            user=user,
            channel=SUPPORT,
            message_ts=card.ts,
            team=bot.slack.team_id,
            response_url=bot.slack.response_url(name),
        )
    )
    assert resp.status == 200
    bot.settle()
    return [r["text"] for r in bot.slack.responses(name)]


def test_the_card_buttons_work_the_case(bot: Bot) -> None:
    root = open_case(bot)
    assert press_card(bot, root, "take") == ["You have CASE-1."]
    assert press_card(bot, root, "wait") == [
        "CASE-1 is waiting on the requester; its clocks are stopped."
    ]
    assert press_card(bot, root, "resume") == ["CASE-1 is open again; its clocks run."]
    assert press_card(bot, root, "resolve") == ["CASE-1 is resolved."]
    [case] = bot.cases()
    assert (case.status, case.assignee_id) == ("resolved", ENGINEER)
    final = [c for c in bot.slack.calls("chat.update") if c.ok][-1].params["blocks"]
    assert [b.get("block_id") for b in final if b["type"] == "actions"] == ["severity"]
    # The requester is not a responder: the buttons refuse them privately.
    root2 = open_case(bot)
    assert press_card(bot, root2, "take", user=CUSTOMER) == [
        "Only the support team can take CASE-2."
    ]


@pytest.fixture
def cet_bot(db_url: str, slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    """The four-priorities policy (its workaround rule lowers one level) on #support."""
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (ROOT / "policies/four-priorities-cet-business-hours.yaml").read_text()
    text = text.replace("channels: [C00000000A2]", f"channels: [{SUPPORT}]")
    text = text.replace("default_severity: medium", "default_severity: critical")
    (folder / "policy.yaml").write_text(text)
    yield from make_bot(db_url, slack, policies_path=str(folder))


def test_a_workaround_lowers_the_severity_as_the_policy_says(cet_bot: Bot) -> None:
    root = open_case(cet_bot)
    assert run(cet_bot, "/case", "workaround CASE-1 restarted the workers")[2] == [
        "CASE-1 is now High (workaround)."
    ]
    assert run(cet_bot, "/case", "workaround CASE-1")[2] == ["CASE-1 is now Medium (workaround)."]
    assert run(cet_bot, "/case", "workaround CASE-1")[2] == ["CASE-1 is now Low (workaround)."]
    assert run(cet_bot, "/case", "workaround CASE-1")[2] == [
        "CASE-1 is already at the least urgent severity."
    ]
    [case] = cet_bot.cases()
    assert case.severity == "low"
    lines = [t for t in thread_lines(cet_bot, root) if "set severity" in t]
    assert [line.split(". First response")[0] for line in lines] == [
        f"<@{ENGINEER}> set severity to *High* (was Critical): workaround: restarted the workers",
        f"<@{ENGINEER}> set severity to *Medium* (was High): workaround",
        f"<@{ENGINEER}> set severity to *Low* (was Medium): workaround",
    ]
    assert kinds(cet_bot).count("workaround") == 3


def test_a_policy_without_a_workaround_rule_says_so(bot: Bot) -> None:
    open_case(bot)
    assert run(bot, "/case", "workaround CASE-1")[2] == [
        "The policy of CASE-1 has no workaround rule for its severity."
    ]


def test_reopen_restarts_the_clocks_and_its_next_response_can_breach(cet_bot: Bot) -> None:
    root = open_case(cet_bot)  # Critical: first and next response 2h, 06:00-18:00 CET
    assert say(cet_bot, ENGINEER, "on it", root) == 200
    cet_bot.settle()
    assert run(cet_bot, "/case", "resolve CASE-1")[2] == ["CASE-1 is resolved."]
    _, ack, _ = run(cet_bot, "/case", "reopen CASE-1 now")
    assert ack is not None and ack["text"] == "Usage: `/case reopen CASE-n`."
    cet_bot.clock.advance(timedelta(minutes=30))
    assert run(cet_bot, "/case", "reopen CASE-1")[2] == ["CASE-1 is open again."]
    assert run(cet_bot, "/case", "reopen CASE-1")[2] == ["CASE-1 is not resolved."]
    [case] = cet_bot.cases()
    assert case.status == "open"
    assert kinds(cet_bot)[-1] == "reopened"
    with cet_bot.runtime.sessions() as session:
        pending = session.execute(
            select(Timer.target, Timer.kind, Timer.target_due_at).where(Timer.status == "pending")
        ).all()
    # Reopened Monday 09:30 UTC (10:30 CET): the next response is due two open hours later.
    assert ("next_response", "breach", datetime(2026, 1, 5, 11, 30, tzinfo=UTC)) in [
        tuple(p) for p in pending
    ]
    assert thread_lines(cet_bot, root)[-1] == f"<@{ENGINEER}> reopened CASE-1."


def rate(bot: Bot, root: str, rating: str, user: str) -> list[str]:
    [summary] = [
        m
        for m in bot.slack.posted_messages(SUPPORT)
        if m.thread_ts == root and m.text.startswith(":white_check_mark:")
    ]
    [button] = [
        e
        for b in summary.blocks or []
        if b.get("block_id") == "feedback"
        for e in b["elements"]
        if e["action_id"] == f"feedback:{rating}"
    ]
    name = f"f{len(bot.slack.calls())}"
    resp = bot.driver.interaction(
        payloads.block_actions(
            action_id=button["action_id"],
            value=button["value"],
            user=user,
            channel=SUPPORT,
            message_ts=summary.ts,
            team=bot.slack.team_id,
            response_url=bot.slack.response_url(name),
        )
    )
    assert resp.status == 200
    bot.settle()
    return [r["text"] for r in bot.slack.responses(name)]


def test_the_requesters_feedback_is_stored_once_however_often_pressed(bot: Bot) -> None:
    root = open_case(bot)
    assert run(bot, "/case", "resolve CASE-1 done")[2] == ["CASE-1 is resolved."]
    [summary] = [
        m
        for m in bot.slack.posted_messages(SUPPORT)
        if m.thread_ts == root and m.text.startswith(":white_check_mark:")
    ]
    assert summary.blocks is not None
    assert summary.blocks[1]["text"]["text"] == f"<@{CUSTOMER}>, how did we do?"
    assert rate(bot, root, "good", ENGINEER) == ["Only the requester can rate CASE-1."]
    assert rate(bot, root, "good", CUSTOMER) == ["Thanks for rating CASE-1."]
    assert rate(bot, root, "bad", CUSTOMER) == ["You have rated CASE-1 already: thanks!"]
    assert rate(bot, root, "good", CUSTOMER) == ["You have rated CASE-1 already: thanks!"]
    with bot.runtime.sessions() as session:
        stored = session.execute(select(Feedback.user_id, Feedback.rating)).all()
    assert [tuple(r) for r in stored] == [(CUSTOMER, "good")]
    assert kinds(bot).count("feedback") == 1


def level_options(view: dict) -> list[str]:
    return [o["value"] for o in view["blocks"][1]["element"]["options"]]


def submit(bot: Bot, view: dict, case: str | None, level: str | None, reason: str = ""):
    def pick(value: str | None) -> dict:
        if value is None:
            return {"type": "static_select", "selected_option": None}
        return {"type": "static_select", "selected_option": {"value": value}}

    payload = payloads.view_submission(
        "severity_modal",
        {
            "case": {"pick": pick(case)},
            "level": {"pick": pick(level)},
            "reason": {"pick": {"type": "plain_text_input", "value": reason or None}},
        },
        user=ENGINEER,
        team=bot.slack.team_id,
        private_metadata=view["private_metadata"],
    )
    resp = bot.driver.interaction(payload)
    bot.settle()
    return resp


def test_severity_alone_opens_a_modal_that_sets_it(bot: Bot) -> None:
    from slack_sdk.models.views import View

    bot.slack.add_member(SUPPORT, ENGINEER)  # where the ephemeral answer goes
    root = open_case(bot)
    status, ack, answers = run(bot, "/severity", "")
    assert (status, ack, answers) == (200, None, [])
    [call] = [c for c in bot.slack.wait_for("views.open") if c.ok]
    view = call.params["view"]
    View(**view).validate_json()  # Slack's own limits, as slack-sdk's models know them
    assert view["blocks"][0]["element"]["initial_option"]["value"] == "1"
    assert level_options(view) == ["sev1", "sev2", "sev3", "sev4", "sev5"]
    options = view["blocks"][1]["element"]["options"]
    assert options[0]["description"]["text"].startswith("Broad impact platform outage")

    # Submitted without a severity: the modal shows the error under the field.
    resp = submit(bot, view, "1", None)
    assert resp.status == 200 and resp.json() == {
        "response_action": "errors",
        "errors": {"level": "Pick a severity."},
    }
    [case] = bot.cases()
    assert case.severity == "sev3"

    resp = submit(bot, view, "1", "sev2", "customers cannot pay")
    assert resp.status == 200 and not resp.body
    [case] = bot.cases()
    assert case.severity == "sev2"
    [answer] = [c for c in bot.slack.calls("chat.postEphemeral") if c.ok]
    assert (answer.params["user"], answer.params["text"]) == (
        ENGINEER,
        "CASE-1 is now SEV 2 - High.",
    )
    assert thread_lines(bot, root)[-1].startswith(
        f"<@{ENGINEER}> set severity to *SEV 2 - High* (was SEV 3 - Medium): customers cannot pay."
    )


@pytest.fixture
def patient_bot(db_url: str, slack: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    """The default policy, resolving cases that wait on the requester for two days."""
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (ROOT / "policies/five-severities-urgent-around-the-clock.yaml").read_text()
    text = text.replace("default_severity: sev3", "default_severity: sev3\nauto_resolve_after: 2d")
    (folder / "policy.yaml").write_text(text)
    yield from make_bot(db_url, slack, policies_path=str(folder))


def test_a_case_waiting_too_long_on_the_requester_is_resolved(patient_bot: Bot) -> None:
    bot = patient_bot
    root = open_case(bot)
    assert say(bot, ENGINEER, "which version?", root) == 200
    bot.settle()
    run(bot, "/case", "wait CASE-1 asked for the version")
    waited_from = bot.clock.now()
    bot.clock.set(waited_from + timedelta(days=2) - timedelta(minutes=1))
    bot.settle()
    [case] = bot.cases()
    assert case.status == "waiting"
    bot.clock.set(waited_from + timedelta(days=2))
    bot.settle()
    [case] = bot.cases()
    assert case.status == "resolved"
    assert thread_lines(bot, root)[-2:] == [
        "escalation-bot resolved CASE-1: no answer from the requester for 2 d.",
        ":white_check_mark: CASE-1 resolved after 2 d. First response: after under a minute,"
        " met with 6 h to spare. Waiting on the requester: 2 d. Breaches: 0.",
    ]


def test_a_wait_that_ended_does_not_resolve_the_case_later(patient_bot: Bot) -> None:
    bot = patient_bot
    root = open_case(bot)
    run(bot, "/case", "wait CASE-1")
    bot.clock.advance(timedelta(hours=5))
    assert say(bot, CUSTOMER, "here it is", root) == 200
    bot.settle()
    bot.clock.advance(timedelta(days=3))
    bot.settle()
    [case] = bot.cases()
    assert case.status == "open"
    with bot.runtime.sessions() as session:
        note = session.execute(select(Timer.note).where(Timer.kind == "auto_resolve")).scalar_one()
    assert note == "the case is no longer in that wait"


def test_list_show_assign_and_resume_by_command(bot: Bot) -> None:
    bot.slack.add_user("U0ALEX0001", "alex")
    first = open_case(bot)
    open_case(bot)
    assert run(bot, "/case", "assign CASE-1 <@U0ALEX0001|alex>")[2] == [
        "CASE-1 is assigned to <@U0ALEX0001>."
    ]
    assert run(bot, "/case", "wait CASE-2")[2] == [
        "CASE-2 is waiting on the requester; its clocks are stopped."
    ]
    due = "<!date^1767625200^{date_short_pretty} at {time}|Mon 05 Jan 2026 15:00 UTC>"
    assert run(bot, "/case", "list")[2] == [
        f"*CASE-1* SEV 3 - Medium, open, assigned to <@U0ALEX0001>: first response due {due}\n"
        f"*CASE-2* SEV 3 - Medium, waiting: first response due {due}"
    ]
    assert run(bot, "/case", "resume CASE-2")[2] == ["CASE-2 is open again; its clocks run."]
    assert run(bot, "/case", "resolve CASE-2")[2] == ["CASE-2 is resolved."]
    assert run(bot, "/case", "list")[2][0].count("*CASE-") == 1
    assert run(bot, "/case", "list all")[2][0].count("*CASE-") == 2
    [case] = [c for c in bot.cases() if c.number == 1]
    assert run(bot, "/case", "show CASE-1")[2] == [
        f"*<{case.permalink}|CASE-1>*: SEV 3 - Medium, open\n"
        f"Requester: <@{CUSTOMER}>\n"
        "Assigned to: <@U0ALEX0001>\n"
        f"First response: due {due}"
    ]
    assert thread_lines(bot, first)[0] == f"<@{ENGINEER}> assigned CASE-1 to <@U0ALEX0001>."


def test_a_rating_asks_for_an_optional_comment_kept_once(bot: Bot) -> None:
    from slack_sdk.models.views import View

    root = open_case(bot)
    run(bot, "/case", "resolve CASE-1")
    assert rate(bot, root, "bad", CUSTOMER) == ["Thanks for rating CASE-1."]
    # The modal opens from the listener, just after the ack.
    [view] = [c.params["view"] for c in bot.slack.wait_for("views.open") if c.ok]
    View(**view).validate_json()
    assert view["callback_id"] == "feedback_comment"

    def comment(text: str) -> None:
        payload = payloads.view_submission(
            "feedback_comment",
            {"comment": {"pick": {"type": "plain_text_input", "value": text}}},
            user=CUSTOMER,
            team=bot.slack.team_id,
            private_metadata=view["private_metadata"],
        )
        assert bot.driver.interaction(payload).status == 200
        bot.settle()

    comment("It took a day to hear back.")
    comment("Second thoughts")
    with bot.runtime.sessions() as session:
        stored = session.execute(select(Feedback.rating, Feedback.comment)).all()
    assert [tuple(r) for r in stored] == [("bad", "It took a day to hear back.")]


def test_the_card_shows_a_running_next_response_clock(cet_bot: Bot) -> None:
    """Four priorities, Critical: next response in 2 open hours (06:00-18:00 CET)."""
    root = open_case(cet_bot)
    assert say(cet_bot, ENGINEER, "looking", root) == 200
    cet_bot.settle()
    cet_bot.clock.advance(timedelta(minutes=30))
    assert say(cet_bot, CUSTOMER, "any news?", root) == 200
    cet_bot.settle()

    def fields() -> list[str]:
        last = [c for c in cet_bot.slack.calls("chat.update") if c.ok][-1]
        return [f["text"] for f in last.params["blocks"][1]["fields"]]

    # Asked at 09:30 UTC (10:30 CET): due 11:30 UTC, shown in the calendar's zone. The
    # update cadence (Critical: 2 open hours) runs from the reply at 09:00 UTC: 11:00 UTC.
    assert fields()[-2:] == [
        "*Next response*\ndue <!date^1767612600^{date_short_pretty} at {time}|"
        "Mon 05 Jan 2026 12:30 CET>",
        "*Next update*\ndue <!date^1767610800^{date_short_pretty} at {time}|"
        "Mon 05 Jan 2026 12:00 CET>",
    ]
    assert say(cet_bot, ENGINEER, "fixed", root) == 200
    cet_bot.settle()
    assert not any(f.startswith("*Next response*") for f in fields())
    # The reply at 09:30 UTC restarts the cadence: 11:30 UTC.
    assert fields()[-1] == (
        "*Next update*\ndue <!date^1767612600^{date_short_pretty} at {time}|"
        "Mon 05 Jan 2026 12:30 CET>"
    )


def test_the_summary_says_when_the_first_response_was_late(bot: Bot) -> None:
    root = open_case(bot)
    bot.clock.set(datetime(2026, 1, 5, 15, 20, tzinfo=UTC))  # due 15:00
    assert say(bot, ENGINEER, "sorry, on it", root) == 200
    bot.settle()
    bot.clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    assert run(bot, "/case", "resolve CASE-1")[2] == ["CASE-1 is resolved."]
    assert thread_lines(bot, root)[-1] == (
        ":white_check_mark: CASE-1 resolved after 7 h. First response: after 6 h 20 min,"
        " missed by 20 min. Waiting on the requester: none. Breaches: 1."
    )


def test_a_case_resolved_with_no_response_says_none_and_counts_neither_met_nor_missed(
    bot: Bot,
) -> None:
    from bot.reports import figures

    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=30))  # due at 15:00: resolved well before
    assert run(bot, "/case", "resolve CASE-1")[2] == ["CASE-1 is resolved."]
    due = "<!date^1767625200^{date_short_pretty} at {time}|Mon 05 Jan 2026 15:00 UTC>"
    assert thread_lines(bot, root)[-1] == (
        ":white_check_mark: CASE-1 resolved after 30 min. First response: none given, target"
        f" was due {due}. Waiting on the requester: none. Breaches: 0."
    )
    now = bot.clock.now()
    with bot.runtime.sessions() as session:
        [row] = figures.report(session, now - timedelta(days=1), now, now).rows
    assert (row.opened, row.first_met, row.first_missed, row.first_pending) == (1, 0, 0, 0)
    assert row.first_median is None


def test_a_responders_wait_with_a_question_is_the_first_response(bot: Bot) -> None:
    """The bot's thread line asks the requester on the responder's behalf: that is an
    answer, and the card, the summary and the report all count it as the first response."""
    root = open_case(bot)
    bot.clock.advance(timedelta(minutes=12))
    assert run(bot, "/case", "wait CASE-1 which version are you on?")[2] == [
        "CASE-1 is waiting on the requester; its clocks are stopped."
    ]
    [case] = bot.cases()
    assert (case.first_response_at, case.first_response_by) == (bot.clock.now(), ENGINEER)
    bot.clock.advance(timedelta(minutes=3))
    assert run(bot, "/case", "resolve CASE-1")[2] == ["CASE-1 is resolved."]
    assert thread_lines(bot, root)[-1] == (
        ":white_check_mark: CASE-1 resolved after 15 min. First response: after 12 min, met"
        " with 5 h 48 min to spare. Waiting on the requester: 3 min. Breaches: 0."
    )


def test_a_bare_wait_is_no_response(bot: Bot) -> None:
    open_case(bot)
    assert run(bot, "/case", "wait CASE-1")[0] == 200
    [case] = bot.cases()
    assert case.first_response_at is None
