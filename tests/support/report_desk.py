"""A week of cases at a support desk, built through the bot's own case functions on a fake
clock, and the report figures worked out for it by hand: `escalation-bot report` and the
weekly post are checked against them, and `purge` must leave them as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases import lifecycle
from bot.cases.service import OpenCase, open_case, record_message, set_severity
from bot.clock import FakeClock
from bot.db import migrate
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models import Case, InboxEvent, OutboxMessage, PolicySnapshot
from bot.policies import Policy, PolicySet, load_policies
from bot.reports.figures import Row
from bot.timers.firing import fire_due
from tests.conftest import SUPPORT
from tests.support.db import copy_database, kept_database

TEAM = "T0G9PQBBK"
# People of the cases resolved early in the week (test_purge checks they are forgotten) and
# of the later ones (which stay).
OLD_REQUESTER, OLD_RESPONDER = "U0OLDREQ01", "U0OLDENG01"
REQUESTER, RESPONDER = "U0REQUEST1", "U0ENGINE01"

POLICIES = """\
id: desk
name: Desk
default: true
default_severity: low
severities:
  - {id: high, name: High, calendar: 24/7, targets: {first_response: 30m}}
  - {id: low, name: Low, calendar: 24/7, targets: {first_response: 2h}}
  - {id: info, name: Info, calendar: 24/7, targets: {}}
"""
OTHER = """\
id: other
name: Other
channels: [C0OTHER001]
severities:
  - {id: normal, name: Normal, calendar: 24/7, targets: {first_response: 1h}}
"""

SINCE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday; the first case opens at this instant
UNTIL = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)  # Friday; a case opening now is left out
AS_OF = datetime(2026, 1, 9, 12, 15, tzinfo=UTC)


def day(d: int, hh: int, mm: int = 0) -> datetime:
    """Day `d` of January 2026 at hh:mm UTC."""
    return datetime(2026, 1, d, hh, mm, tzinfo=UTC)


# Texts, notes and comments people wrote, by case: test_purge looks for every one of them.
TEXTS = {n: f"case {n}: the nightly export to the data lake fails" for n in range(1, 12)}
NOTES = {
    1: "restarted the exporter on node seven",
    2: "rotated the expired storage credential",
    3: "please send the exporter logs from last night",
    4: "waiting for the customer's firewall change",
}
COMMENTS = {1: "quick and friendly, thanks", 2: "took far too long to hear back"}
# Internal notes (`/case note`), seen only by the team.
INTERNAL = {2: "customer's contract renews next month, keep them informed"}


@dataclass
class Desk:
    """The week's database, clock and policies, and our case labels' ids in it."""

    sessions: sessionmaker[Session]
    clock: FakeClock
    policies: PolicySet
    numbers: dict[int, int]  # our case label -> case id

    def at(self, when: datetime) -> None:
        """Move the clock and fire what is due, as the running bot's tick would."""
        self.clock.set(when)
        fire_due(self.sessions, self.clock, self._policy_for_case)

    def _policy_for_case(self, session: Session, case: Case) -> Policy:
        snap = session.get(PolicySnapshot, case.policy_hash)
        assert snap is not None
        return Policy.from_snapshot(snap.content)

    def open(self, n: int, channel: str = SUPPORT, requester: str = REQUESTER) -> None:
        policy = self.policies.for_channel(channel)
        with self.sessions.begin() as session:
            ts = f"{1767600000 + n}.000100"
            req = OpenCase(TEAM, channel, ts, ts, requester, requester, TEXTS[n], None, None)
            self.numbers[n] = open_case(session, self.clock, policy, req).case.id

    def act(self, n: int, what: str, *args: str) -> None:
        with self.sessions.begin() as session:
            case = session.get(Case, self.numbers[n])
            assert case is not None
            policy = self._policy_for_case(session, case)
            responder = OLD_RESPONDER if n <= 3 else RESPONDER
            if what == "severity":
                set_severity(session, self.clock, policy, case, args[0], responder)
            elif what == "reply":
                record_message(session, self.clock, policy, case, responder, "responder", "1.2")
            elif what == "requester":
                record_message(
                    session, self.clock, policy, case, case.requester_id or "", "requester", "1.3"
                )
            elif what == "wait":
                lifecycle.wait(session, self.clock, policy, case, responder, *args)
            elif what == "note":
                lifecycle.add_note(session, self.clock, case, responder, args[0])
            elif what == "resume":
                lifecycle.resume(session, self.clock, policy, case, responder)
            elif what == "resolve":
                lifecycle.resolve(session, self.clock, policy, case, responder, *args)
            elif what == "rate":
                requester = case.requester_id or ""
                lifecycle.record_feedback(session, self.clock, case, requester, args[0], None)
                lifecycle.comment_feedback(session, case, requester, args[1])


_BUILT: dict[str, tuple[str, dict[int, int]]] = {}


def build_desk(db_url: str, tmp_path: Path) -> Desk:
    """The week of cases every test here reads. Policy desk: high 30m, low 2h, info no
    target; policy other: normal 1h; all 24/7, so due times are plain clock arithmetic.
    Built once per process and kind of database; each test gets a copy of it."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "desk.yaml").write_text(POLICIES)
    (tmp_path / "policies" / "other.yaml").write_text(OTHER)
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    if kind not in _BUILT:
        template = kept_database(kind)
        built = _build(template, tmp_path / "policies")
        built.sessions.kw["bind"].dispose()
        _BUILT[kind] = (template, built.numbers)
    template, numbers = _BUILT[kind]
    copy_database(template, db_url)
    return Desk(
        make_sessionmaker(make_engine(db_url)),
        FakeClock(AS_OF),
        load_policies(tmp_path / "policies"),
        dict(numbers),
    )


def _build(db_url: str, policies: Path) -> Desk:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    desk = Desk(make_sessionmaker(engine), FakeClock(SINCE), load_policies(policies), {})
    old = {"requester": OLD_REQUESTER}
    # Monday. Case 1: high from the start, answered in 10m, resolved, rated good.
    desk.at(day(5, 9))
    desk.open(1, **old)
    desk.act(1, "severity", "high")
    desk.at(day(5, 9, 10))
    desk.act(1, "reply")
    desk.at(day(5, 9, 30))
    desk.act(1, "resolve", NOTES[1])
    desk.act(1, "rate", "good", COMMENTS[1])
    # Case 2: high, due 10:30, breach announced then; answered at 10:40 (40m, late).
    desk.at(day(5, 10))
    desk.open(2, **old)
    desk.act(2, "severity", "high")
    desk.at(day(5, 10, 30))
    desk.act(2, "note", INTERNAL[2])
    desk.at(day(5, 10, 40))
    desk.act(2, "reply")
    desk.at(day(5, 11))
    desk.act(2, "resolve", NOTES[2])
    desk.act(2, "rate", "bad", COMMENTS[2])
    # Tuesday. Case 3: high, answered in 20m, then waits on the requester 09:30-10:30.
    desk.at(day(6, 9))
    desk.open(3, **old)
    desk.act(3, "severity", "high")
    desk.at(day(6, 9, 20))
    desk.act(3, "reply")
    desk.at(day(6, 9, 30))
    desk.act(3, "wait", NOTES[3])
    desk.at(day(6, 10, 30))
    desk.act(3, "requester")
    desk.at(day(6, 11))
    desk.act(3, "resolve")
    # Case 4: low, answered in 30m; waits 13:00-13:45, and again from 14:00 until resolved
    # at 15:00.
    desk.at(day(6, 12))
    desk.open(4)
    desk.at(day(6, 12, 30))
    desk.act(4, "reply")
    desk.at(day(6, 13))
    desk.act(4, "wait", NOTES[4])
    desk.at(day(6, 13, 45))
    desk.act(4, "resume")
    desk.at(day(6, 14))
    desk.act(4, "wait")
    desk.at(day(6, 15))
    desk.act(4, "resolve")
    # Wednesday. Case 5: low, never answered; due 11:00, its breach fires with Thursday's
    # first tick.
    desk.at(day(7, 9))
    desk.open(5)
    # Thursday. Case 7: info (no target), answered in 50m.
    desk.at(day(8, 9))
    desk.open(7)
    desk.act(7, "severity", "info")
    desk.at(day(8, 9, 50))
    desk.act(7, "reply")
    desk.at(day(8, 10))
    desk.act(7, "resolve")
    # Case 8: low, answered in 45m (met: due 12:00), raised to high afterwards, so it counts
    # under high with the answer judged under low.
    desk.open(8)
    desk.at(day(8, 10, 45))
    desk.act(8, "reply")
    desk.at(day(8, 11))
    desk.act(8, "severity", "high")
    desk.at(day(8, 11, 30))
    desk.act(8, "resolve")
    # Case 9, policy other: answered in 15m.
    desk.at(day(8, 15))
    desk.open(9, channel="C0OTHER001")
    desk.at(day(8, 15, 15))
    desk.act(9, "reply")
    desk.at(day(8, 15, 30))
    desk.act(9, "resolve")
    # Friday. Case 6: low at 11:00, due 13:00: still pending at 12:15. Case 10 opens at
    # UNTIL, outside the period.
    desk.at(day(9, 11))
    desk.open(6)
    desk.at(UNTIL)
    desk.open(10)
    desk.at(AS_OF)
    # What the running bot does within seconds: every message written so far was sent, and
    # every request it queued for itself was processed.
    with desk.sessions.begin() as session:
        session.execute(update(OutboxMessage).values(status="sent", sent_at=AS_OF))
        session.execute(update(InboxEvent).values(status="done", processed_at=AS_OF))
    return desk


# Per row, by hand (as of Friday 12:15). Cases count under their current severity; first
# responses under the severity in force when answered (case 8's under low).
# desk/high: cases 1, 2, 3, 8; answers of 1, 2, 3. Met: 1 (10m < 30m), 3 (20m); missed: 2
#   (40m >= 30m). met % = 2/3 = 66.7. Times [600, 2400, 1200] s sorted [600, 1200, 2400]:
#   median 1200; p90 rank ceil(0.9 * 3) = 3 -> 2400. Breaches: case 2's one. Waiting: case
#   3, 10:30 - 09:30 = 3600. Feedback: case 1 good, case 2 bad.
# desk/low: cases 4, 5, 6; answers of 4, 5, 6 and 8. Met: 4 (30m), 8 (45m < 2h); missed: 5
#   (due Wed 11:00, never answered); pending: 6 (due 13:00). met % = 2/3. Times [1800, 2700]:
#   median 2250 (37m 30s), p90 rank ceil(0.9 * 2) = 2 -> 2700. Breaches: case 5's. Waiting:
#   case 4, 45m + 60m = 6300.
# desk/info: case 7, no target; time 50m = 3000.
# other/normal: case 9, met in 15m = 900.
EXPECTED = (
    Row("desk", "high", 4, 2, 1, 0, 0, 1200, 2400, 1, 3600, 2, 1, 1),
    Row("desk", "low", 3, 2, 1, 1, 0, 2250, 2700, 1, 6300, 0, 0, 0),
    Row("desk", "info", 1, 0, 0, 0, 1, 3000, 3000, 0, 0, 0, 0, 0),
    Row("other", "normal", 1, 1, 0, 0, 0, 900, 900, 0, 0, 0, 0, 0),
)
