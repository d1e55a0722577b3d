"""`escalation-bot demo`: the bot's whole path on this machine alone. A local stand-in for
Slack, an embedded SQLite database, requests signed as Slack signs them, sent to the bot's
real HTTP endpoint, and a transcript of what people in Slack would see."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from importlib.resources import as_file, files
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from bot.clock import FakeClock
from bot.db.models import Case, CaseEvent, Timer
from bot.db.states import TimerStatus
from bot.demo.stage import (
    CUSTOMER,
    CUSTOMER_ORG,
    ENGINEER,
    ENGINEERS,
    LEAD,
    ONCALL_CHANNEL,
    SECRET,
    SUPPORT,
    TRIAGE,
    Stage,
)
from bot.demo.stand_in import payloads
from bot.demo.stand_in.fake_slack import FakeSlack
from bot.demo.stand_in.server import serve_in_thread
from bot.demo.stand_in.signing import SlackDriver
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.render import SET_SEVERITY_ACTION, readable


class Demo(Stage):
    def run(self) -> int:
        chosen = os.environ.get("POLICIES_PATH")
        if not chosen:
            # The package carries its own copy of the default policy, so the demo runs from
            # any directory after `pip install`.
            with as_file(files("bot.demo").joinpath("policy.yaml")) as shipped:
                return self.run_with(str(shipped))
        if not Path(chosen).exists():
            self.say(f"demo: no policies at '{chosen}' (POLICIES_PATH)")
            return 2
        return self.run_with(chosen)

    def run_with(self, policies: str) -> int:
        with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
            self.slack = slack
            slack.add_user(CUSTOMER, "ana", "Ana (customer)", team_id=CUSTOMER_ORG)
            slack.add_user(ENGINEER, "sam", "Sam (support)")
            slack.add_channel(SUPPORT, "support", bot_member=True)
            slack.add_channel(TRIAGE, "support-triage", bot_member=True)
            for user, name in zip(ENGINEERS, ("eve", "eli", "emy"), strict=True):
                slack.add_user(user, name, f"{name.title()} (engineering)")
            slack.add_user(LEAD, "lee", "Lee (support lead)")
            slack.add_channel(ONCALL_CHANNEL, "oncall", bot_member=True)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{tmp}/demo.db",
                slack_api_url=slack.base_url,
                slack_bot_token=SecretStr(slack.token),
                slack_signing_secret=SecretStr(SECRET),
                policies_path=policies,
                triage_channel=TRIAGE,
                # The demo's own stand-in and workspace, whatever this shell has set.
                slack_app_token=None,
                slack_client_id=None,
                slack_client_secret=None,
                slack_state_secret=None,
                report_channel=None,
                page_webhook_secret=None,
                trigger_emoji="ticket",
                background_work="thread",
            )
            clock = FakeClock(datetime(2026, 11, 23, 9, 12, tzinfo=UTC))
            runtime = Runtime(settings, clock=clock, paced=False)
            runtime.migrate()
            with serve_in_thread(runtime) as url:
                return self.script(runtime, SlackDriver(url, SECRET, slack=slack), clock)

    def script(self, runtime: Runtime, driver: SlackDriver, clock: FakeClock) -> int:
        slack = self.slack
        self.say("== escalation-bot demo: a local Slack stand-in, SQLite, signed requests ==")
        self.say(f"   policy for #support: {runtime.policies.for_channel(SUPPORT).name}")
        self.say("   #support is shared with the customer's organisation (Slack Connect)")
        self.say(f"   it is {readable(clock.now())}")
        self.say()
        text = "Deploys to production fail with 'registry unavailable' since 09:05. Help!"
        ts = slack.post_user_message(SUPPORT, CUSTOMER, text)
        self.say(f"#support  @ana: {text}")
        self.say("#support  @ana reacts with :ticket:")
        event = payloads.reaction_added(
            team=CUSTOMER_ORG,
            channel=SUPPORT,
            ts=ts,
            user=CUSTOMER,
            item_user=CUSTOMER,
            authorization_team=slack.team_id,
            is_ext_shared_channel=True,
        )
        resp = driver.event(event)
        self.say(f"          (Slack -> bot: reaction_added, acked with HTTP {resp.status})")
        runtime.settle()
        self.show_new()

        resp = driver.event(event, retry_num=1, retry_reason="http_timeout")
        runtime.settle()
        self.say(
            f"          (Slack redelivers the same event: HTTP {resp.status}, "
            f"cases now: {self.count_cases(runtime)})"
        )
        self.say()

        with runtime.sessions() as session:
            case = session.execute(select(Case)).scalar_one()
        policy = runtime.policies.for_channel(SUPPORT)
        urgent = policy.ordered_severities[0]
        card = next(m for m in slack.posted_messages(SUPPORT) if m.thread_ts == ts)
        self.say(f"#support  @ana presses [{urgent.name}] on the case card")
        driver.interaction(
            payloads.block_actions(
                action_id=f"{SET_SEVERITY_ACTION}:{urgent.id}",
                value=f"{case.id}:{urgent.id}",
                user=CUSTOMER,
                user_team=CUSTOMER_ORG,
                channel=SUPPORT,
                message_ts=card.ts,
                team=slack.team_id,
            )
        )
        runtime.settle()
        self.show_new()
        if any(call.ok for call in slack.calls("chat.update")):
            self.say("          (the case card in the thread is updated in place)")
        self.details(runtime, driver, ts)
        self.say()
        with runtime.sessions() as session:
            case = session.execute(select(Case)).scalar_one()
        with runtime.sessions() as session:
            pending = session.execute(
                select(Timer.due_at)
                .where(Timer.case_id == case.id, Timer.status == TimerStatus.PENDING)
                .order_by(Timer.due_at)
            ).scalars()
            moments = list(dict.fromkeys(pending))
        acknowledged = False
        for moment in moments:
            clock.set(moment)
            self.say(f"   ... the clock runs on to {readable(clock.now())}; nobody has answered")
            runtime.settle()
            self.show_new()
            if not acknowledged and self.dm_to(LEAD) is not None:
                self.acknowledge(runtime, driver, LEAD)
                acknowledged = True
        self.say()
        clock.advance(timedelta(minutes=4))
        self.say(f"   ... {readable(clock.now())}")
        reply = "Sorry for the wait: we are failing over the registry now."
        reply_ts = slack.post_user_message(SUPPORT, ENGINEER, reply, thread_ts=ts)
        self.say(f"#support (thread)  @sam: {reply}")
        driver.event(
            payloads.message(
                team=slack.team_id,
                channel=SUPPORT,
                ts=reply_ts,
                user=ENGINEER,
                text=reply,
                thread_ts=ts,
            )
        )
        runtime.settle()
        self.show_new()
        # The update cadence runs from that reply: the next update is due within the hour.
        with runtime.sessions() as session:
            due = session.execute(select(Case.next_update_due)).scalar_one()
        if due is not None:
            with runtime.sessions() as session:
                first = session.execute(
                    select(Timer.due_at)
                    .where(Timer.status == TimerStatus.PENDING, Timer.target == "update_every")
                    .order_by(Timer.due_at)
                    .limit(1)
                ).scalar_one_or_none()
            if first is not None:
                clock.set(first)
                self.say(f"   ... the clock runs on to {readable(clock.now())}")
                runtime.settle()
                self.show_new()
        self.say()
        self.command(runtime, driver, "/case", f"take {case.key}")
        self.command(runtime, driver, "/severity", f"{case.key} high failover under way")
        self.command(runtime, driver, "/case", f"wait {case.key} asked for the deploy logs")
        clock.advance(timedelta(minutes=20))
        answer = "Here are the logs from the last deploy."
        answer_ts = slack.post_user_message(SUPPORT, CUSTOMER, answer, thread_ts=ts)
        self.say(f"   ... {readable(clock.now())}")
        self.say(f"#support (thread)  @ana: {answer}")
        driver.event(
            payloads.message(
                team=slack.team_id,
                channel=SUPPORT,
                ts=answer_ts,
                user=CUSTOMER,
                text=answer,
                thread_ts=ts,
            )
        )
        runtime.settle()
        self.say("          (the requester answered: the case's clocks run again)")
        clock.advance(timedelta(minutes=25))
        self.say(f"   ... {readable(clock.now())}")
        self.command(runtime, driver, "/case", f"resolve {case.key} registry failed over")
        summary = [m for m in slack.posted_messages(SUPPORT) if m.thread_ts == ts][-1]
        self.say("#support (thread)  @ana presses [:+1: Helpful] under the summary")
        driver.interaction(
            payloads.block_actions(
                action_id="feedback:good",
                value=f"{case.number}:good",
                user=CUSTOMER,
                channel=SUPPORT,
                message_ts=summary.ts,
                team=slack.team_id,
                response_url=slack.response_url("rating"),
            )
        )
        runtime.settle()
        for rated in slack.responses("rating"):
            self.say(f"          (only @ana sees) {rated['text']}")
        if slack.opened_views():
            self.say("          (a window asks @ana for an optional comment)")
        self.say()
        self.say("== the case's timeline, as stored ==")
        with runtime.sessions() as session:
            case = session.execute(select(Case)).scalar_one()
            events = session.execute(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            ).scalars()
            self.say(
                f"{case.key}  severity={case.severity}  status={case.status}  "
                f"first response due {readable(case.first_response_due)}"
                if case.first_response_due
                else case.key
            )
            for ev in events:
                detail = ", ".join(f"{k}={str(v)[:25]}" for k, v in ev.data.items())
                self.say(f"  {readable(ev.at)}  @{self.name(ev.actor):<6} {ev.kind}  {detail}")
        return 0


def run_demo(speed: float = 0.0) -> int:
    return Demo(speed=speed).run()
