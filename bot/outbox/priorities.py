"""Which outbox rows go first when Slack's limits leave room for only some: pages, then
cards and answers to someone waiting, then breach alerts, then reminders, then the rest
(card updates, App Home, thread lines). A row announced in a digest keeps its own thread
line for after those, when its channel has room (bot.slack.digests); last, a card shown
again only because a target was missed."""

from __future__ import annotations

import functools
from enum import IntEnum

from sqlalchemy import ColumnElement, case

from bot.db.models import OutboxMessage
from bot.outbox.payloads import Intent


class Priority(IntEnum):
    PAGES = 0
    CARDS = 1
    BREACHES = 2
    REMINDERS = 3
    UPDATES = 4
    # The thread line of an alert a digest already announced.
    ECHOES = 5
    # A card shown again because a target was missed, when Slack has room.
    REFRESHES = 6

    @property
    def label(self) -> str:
        return self.name.lower()


PRIORITY: dict[Intent, Priority] = {
    # A modal's trigger_id lives 3 seconds: it goes with the pages.
    Intent.OPEN_VIEW: Priority.PAGES,
    Intent.PAGE_DM: Priority.PAGES,
    Intent.PAGE_POST: Priority.PAGES,
    Intent.PAGE_WARNING: Priority.PAGES,
    Intent.PAGE_WEBHOOK: Priority.PAGES,
    Intent.CASE_CARD: Priority.CARDS,
    Intent.INTAKE_ASK: Priority.CARDS,
    Intent.TRIAGE_NOTICE: Priority.CARDS,
    Intent.COMMAND_REPLY: Priority.CARDS,
    Intent.EPHEMERAL_NOTICE: Priority.CARDS,
    Intent.BREACH_ALERT: Priority.BREACHES,
    Intent.BREACH_NOTICE: Priority.BREACHES,
    Intent.SLA_REMINDER: Priority.REMINDERS,
    Intent.CASE_CARD_REFRESH: Priority.REFRESHES,
}


def priority_of(intent: str, announced: bool = False) -> Priority:
    if announced:
        return Priority.ECHOES
    return PRIORITY.get(Intent(intent), Priority.UPDATES)


@functools.cache
def priority_column() -> ColumnElement[int]:
    """`priority_of` in SQL, so the database sorts a backlog before it limits it. A row
    with `sent_at` set while still in flight was announced in a digest."""
    by_intent: dict[Priority, list[str]] = {}
    for intent, priority in PRIORITY.items():
        by_intent.setdefault(priority, []).append(intent.value)
    whens = [(OutboxMessage.sent_at.is_not(None), int(Priority.ECHOES))]
    whens += [(OutboxMessage.intent.in_(names), int(p)) for p, names in sorted(by_intent.items())]
    return case(*whens, else_=int(Priority.UPDATES))
