"""The demo's stage: its people and channels, the transcript it prints, and what its
people do in Slack (run a slash command, fill in the details form, acknowledge a page),
each sent to the bot as Slack would send it."""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.db.models import Case
from bot.demo.stand_in import payloads
from bot.demo.stand_in.fake_slack import Call, FakeSlack
from bot.demo.stand_in.signing import SlackDriver
from bot.demo.transcript import block_lines, plain
from bot.runtime import Runtime

SECRET = "demo-signing-secret"
SUPPORT, TRIAGE = "C0SUPPORT1", "C0TRIAGE01"
CUSTOMER, ENGINEER = "U0CUSTOMR1", "U0ENGINEER"
# #support is a Slack Connect channel: @ana works for the customer, another organisation.
CUSTOMER_ORG = "T0CUSTOMER"
# The shipped default policy's on-call placeholders: the engineer on call this week, the
# lead at level 2 of its chain, and its on-call channel.
ENGINEERS = ("U00000000E1", "U00000000E2", "U00000000E3")
LEAD, ONCALL_CHANNEL = "U00000000L1", "C00000000P1"


class Stage:
    slack: FakeSlack

    def __init__(self, out: list[str] | None = None, speed: float = 0.0) -> None:
        self.out = out
        self.speed = speed
        self.shown = 0

    def say(self, line: str = "") -> None:
        if self.out is not None:
            self.out.append(line)
        print(line, flush=True)
        if self.speed:
            time.sleep(self.speed)

    def command(self, runtime: Runtime, driver: SlackDriver, command: str, text: str) -> None:
        """@sam runs a slash command; the private answer and what it posts are shown."""
        name = f"demo-{len(self.slack.calls())}"
        self.say(f"#support  @sam runs `{command} {text}`")
        driver.command(
            payloads.slash_command(
                command,
                text,
                user_id=ENGINEER,
                channel_id=SUPPORT,
                team_id=self.slack.team_id,
                response_url=self.slack.response_url(name),
            )
        )
        runtime.settle()
        for answer in self.slack.responses(name):
            self.say(f"          (only @sam sees) {plain(answer['text'], self.name, self.channel)}")
        self.show_new()

    def details(self, runtime: Runtime, driver: SlackDriver, root: str) -> None:
        """@ana presses "Add details" under the bot's ask and fills in the form."""
        asks = [
            m
            for m in self.slack.posted_messages(SUPPORT)
            if m.thread_ts == root and any(b.get("block_id") == "details" for b in m.blocks or [])
        ]
        if not asks:
            return
        [button] = [
            e for b in asks[0].blocks or [] if b["type"] == "actions" for e in b["elements"]
        ]
        self.say("#support (thread)  @ana presses [Add details]")
        before = len(self.slack.opened_views())
        driver.interaction(
            payloads.block_actions(
                action_id=button["action_id"],
                value=button["value"],
                user=CUSTOMER,
                user_team=CUSTOMER_ORG,
                channel=SUPPORT,
                message_ts=asks[0].ts,
                team=self.slack.team_id,
            )
        )
        runtime.settle()
        # The form opens from a listener that runs right after the ack, beside this script.
        deadline = time.monotonic() + 3
        while len(self.slack.opened_views()) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        views = self.slack.opened_views()[before:]
        if not views:
            self.say("          (the form could not be opened)")
            return
        view = views[-1]
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        self.say(f"          (a form opens for @ana: {', '.join(labels)})")
        answers = {
            "impact": "All production deploys are blocked.",
            "affected": "CLI and API pushes",
        }
        values = {
            b["block_id"]: {
                "pick": {
                    "type": "plain_text_input",
                    "value": answers.get(b["block_id"].split(":", 1)[1]),
                }
            }
            for b in view["blocks"]
            if b["type"] == "input"
        }
        self.say(f"          @ana fills in: {'; '.join(answers.values())}")
        driver.interaction(
            payloads.view_submission(
                view["callback_id"],
                values,
                user=CUSTOMER,
                team=self.slack.team_id,
                private_metadata=view["private_metadata"],
                blocks=view["blocks"],
            )
        )
        runtime.settle()
        self.show_new()
        with runtime.sessions() as session:
            card_ts = session.execute(select(Case.card_ts)).scalar_one()
        updates = [
            c for c in self.slack.calls("chat.update") if c.ok and c.params.get("ts") == card_ts
        ]
        shown = [
            e["text"]
            for b in (updates[-1].params.get("blocks") if updates else None) or []
            if b["type"] == "context"
            for e in b["elements"]
            if e["text"].startswith("Details:")
        ]
        for line in shown:
            self.say(f"          (the card is updated: {line})")

    def dm_to(self, user: str) -> Call | None:
        sent = [
            c for c in self.slack.calls("chat.postMessage") if c.ok and c.params["channel"] == user
        ]
        return sent[-1] if sent else None

    def acknowledge(self, runtime: Runtime, driver: SlackDriver, user: str) -> None:
        """`user` presses Acknowledge on the page they were sent."""
        page = self.dm_to(user)
        assert page is not None and page.response is not None
        [button] = [
            e for b in page.params["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
        self.say(f"DM @{self.name(user)}  @{self.name(user)} presses [Acknowledge] on the page")
        name = f"demo-{len(self.slack.calls())}"
        driver.interaction(
            payloads.block_actions(
                action_id=button["action_id"],
                value=button["value"],
                user=user,
                channel=page.response["channel"],
                message_ts=page.response["ts"],
                team=self.slack.team_id,
                response_url=self.slack.response_url(name),
            )
        )
        runtime.settle()
        for answer in self.slack.responses(name):
            text = plain(answer["text"], self.name, self.channel)
            self.say(f"          (only @{self.name(user)} sees) {text}")
        self.show_new()

    def count_cases(self, runtime: Runtime) -> int:
        with runtime.sessions() as session:
            return len(session.execute(select(Case.id)).all())

    def name(self, user: str) -> str:
        found = self.slack.user(user)
        return found.name if found else user

    def channel(self, channel: str) -> str:
        found = self.slack.channel(channel)
        return found.name if found else channel

    def show_new(self) -> None:
        posted = self.slack.posted_messages()
        for msg in posted[self.shown :]:
            found = self.slack.channel(msg.channel)
            if found is not None and found.is_im and found.im_user:
                where = f"DM @{self.name(found.im_user)}"
            else:
                where = f"#{self.channel(msg.channel)}"
            if msg.thread_ts and msg.thread_ts != msg.ts:
                where += " (thread)"

            def fmt(t: str) -> str:
                return plain(t, self.name, self.channel)

            lines = block_lines(msg.blocks, fmt) if msg.blocks else [fmt(msg.text)]
            if msg.user in (CUSTOMER, ENGINEER):
                continue  # people's own messages are narrated by the script
            self.say(f"{where}  @{self.name(msg.user or '')}: {lines[0]}")
            for line in lines[1:]:
                self.say(f"{' ' * len(where)}  {line}")
        self.shown = len(posted)
