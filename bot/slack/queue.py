"""The outbox rows a delivery pass may send, in the order it tries them: by priority
(bot.outbox.priorities), oldest first within one. What must wait for what:

- A case's card goes before anything about it in its thread: while the card is unsent the
  case's other rows wait (pages excepted: they reach people, not the thread).
- Rows of one case and one priority keep the order they were written in; pages keep their
  order per destination only, so a pager that is down or a person's rate-limited direct
  messages never hold back the pages meant to cover for them.
- Superseded rows fold: of several pending updates of one card, or App Home refreshes of
  one person, only the newest is sent, and the others are recorded as folded into it.
- A card shown again only because a target was missed goes last, and only when the
  workspace's `chat.update` budget is idle within REFRESH_PATIENCE_SECONDS; a change
  someone made always goes.
- Reminders and breach alerts due together in one channel go out as one digest; so do
  notices of new cases (a triage channel hears of every case)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import OutboxMessage
from bot.db.states import IN_FLIGHT, OutboxStatus
from bot.outbox import Intent
from bot.outbox.priorities import Priority, priority_column, priority_of
from bot.slack.folding import CARD_CHANGES, REFRESH_PATIENCE_SECONDS
from bot.slack.page_intents import PER_DESTINATION, STEP_MESSAGES

# Alerts of one channel that go out together as a digest once at least this many are due.
DIGEST_MIN = 3
# What may share a digest: SLA alerts together, new-case notices together.
FAMILY = {
    Intent.SLA_REMINDER: "alerts",
    Intent.BREACH_ALERT: "alerts",
    Intent.TRIAGE_NOTICE: "notices",
}
FOLDED = frozenset({*CARD_CHANGES, Intent.HOME_VIEW})


@dataclass(frozen=True)
class Row:
    id: int
    case_id: int | None
    team: str
    channel: str
    intent: str
    status: str
    next_at: datetime
    # Announced in a digest; its own thread line is still to go.
    announced: bool

    @property
    def priority(self) -> Priority:
        return priority_of(self.intent, self.announced)

    def order(self) -> Hashable | None:
        """The rows that must go in the order they were written, or None. A card update
        shows the case as it is when sent, so it keeps no order."""
        if self.case_id is None or self.intent in FOLDED:
            return None
        if self.intent in PER_DESTINATION:
            return (self.case_id, self.channel)
        return (self.case_id, self.priority)

    def fold_key(self) -> Hashable | None:
        """Rows of which only the newest need go."""
        if self.intent in CARD_CHANGES and self.case_id is not None:
            return ("card", self.case_id)
        if self.intent == Intent.HOME_VIEW:
            return (self.intent, self.team, self.channel)
        return None


class Lane(StrEnum):
    """Which rows a pass sends: all, or Slack's (every intent but page webhooks) and the
    webhooks', each in a pass of its own; and, in a pass of their own too, a page step's
    messages in Slack, which need no read of `cases` (its lock never holds them back)."""

    ALL = "all"
    SLACK = "slack"
    WEBHOOKS = "webhooks"
    PAGES = "pages"


PAGE_LANE = sorted(STEP_MESSAGES - {Intent.PAGE_WEBHOOK})


def due(sessions: sessionmaker[Session], lane: Lane, limit: int) -> list[Row]:
    """In-flight rows of `lane`, most urgent first."""
    where: list[ColumnElement[bool]] = []
    if lane == Lane.PAGES:
        where.append(OutboxMessage.intent.in_(PAGE_LANE))
    elif lane != Lane.ALL:
        hooks = OutboxMessage.intent == Intent.PAGE_WEBHOOK
        where.append(hooks if lane == Lane.WEBHOOKS else ~hooks)
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.case_id,
            OutboxMessage.team_id,
            OutboxMessage.channel_id,
            OutboxMessage.intent,
            OutboxMessage.status,
            OutboxMessage.next_attempt_at,
            OutboxMessage.sent_at.is_not(None),
        )
        .where(OutboxMessage.status.in_(IN_FLIGHT), *where)
        .order_by(priority_column(), OutboxMessage.id)
        .limit(limit)
    )
    with sessions() as session:
        return [Row(*r) for r in session.execute(query)]


@dataclass
class Plan:
    """What a pass learns from its rows before it sends any: which cards are unsent, the
    newest row of each fold, the digests to make; and, as it goes, the orders held."""

    rows: list[Row]
    now: datetime
    held: set[Hashable] = field(default_factory=set)
    cards_unsent: set[int] = field(default_factory=set)
    newest: dict[Hashable, int] = field(default_factory=dict)
    # Folds holding a change someone made: their newest row goes whatever it is.
    firm: set[Hashable] = field(default_factory=set)
    digests: dict[tuple[str, str, str], list[Row]] = field(default_factory=dict)
    # Rows a digest took.
    taken: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.cards_unsent = {
            r.case_id for r in self.rows if r.intent == Intent.CASE_CARD and r.case_id
        }
        for r in self.rows:
            key = r.fold_key()
            if key is not None:
                self.newest[key] = max(self.newest.get(key, 0), r.id)
                if r.intent != Intent.CASE_CARD_REFRESH:
                    self.firm.add(key)
        groups: dict[tuple[str, str, str], list[Row]] = {}
        for r in self.rows:
            if (
                r.intent in FAMILY
                and r.status == OutboxStatus.PENDING
                and not r.announced
                and r.next_at <= self.now
                and r.case_id not in self.cards_unsent
            ):
                groups.setdefault(self._group(r), []).append(r)
        self.digests = {k: rows for k, rows in groups.items() if len(rows) >= DIGEST_MIN}

    def waits(self, row: Row) -> bool:
        """True when an earlier row holds this one back (or a digest took it)."""
        if row.id in self.taken:
            return True
        order = row.order()
        if order is not None and order in self.held:
            return True
        if row.intent in PER_DESTINATION or row.case_id is None:
            return False
        return row.intent != Intent.CASE_CARD and row.case_id in self.cards_unsent

    def folded(self, row: Row) -> bool:
        """True when a newer row of its fold will carry what it would have said."""
        key = row.fold_key()
        return key is not None and self.newest.get(key, row.id) != row.id

    def spares_only(self, row: Row) -> bool:
        """True for a card refresh standing for no change anyone made: it goes only when
        the workspace's `chat.update` budget is idle (nothing else spending it)."""
        return row.intent == Intent.CASE_CARD_REFRESH and row.fold_key() not in self.firm

    def gives_up(self, row: Row) -> bool:
        """True for such a refresh that has waited its patience out."""
        return (
            self.spares_only(row)
            and (self.now - row.next_at).total_seconds() >= REFRESH_PATIENCE_SECONDS
        )

    def hold(self, row: Row) -> None:
        order = row.order()
        if order is not None:
            self.held.add(order)

    def digest_for(self, row: Row) -> list[Row] | None:
        """The digest this row goes out in, once: its first member takes all of it."""
        if row.intent not in FAMILY or not self._member(row):
            return None
        members = self.digests.pop(self._group(row))
        self.taken.update(m.id for m in members)
        return members

    def _member(self, row: Row) -> bool:
        members = self.digests.get(self._group(row))
        return members is not None and any(m.id == row.id for m in members)

    @staticmethod
    def _group(row: Row) -> tuple[str, str, str]:
        return (row.team, row.channel, FAMILY[Intent(row.intent)])
