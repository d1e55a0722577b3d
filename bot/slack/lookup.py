"""Finding a post the bot may already have made: every post carries its outbox id in its
message metadata, so a row whose last attempt went unanswered is looked up in the channel or
thread before it is posted again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.errors import error_code, is_transient

log = logging.getLogger(__name__)

METADATA_TYPE = "escalation_bot_message"
# How many pages of messages to search for a post whose outcome the bot never heard.
LOOKUP_PAGES = 10
# Messages a lookup page asks for: what apps outside the Marketplace may read at once.
LOOKUP_PAGE = 15
# The row's creation instant, less this, bounds the lookup: the post cannot be older.
LOOKUP_MARGIN_SECONDS = 60


def metadata(row_id: int) -> dict[str, Any]:
    """What a post carries so that it can be found again."""
    return {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": row_id}}


def find_posted(
    client: WebClient,
    kwargs: dict[str, Any],
    row_id: int,
    since: datetime,
    seen: Seen | None = None,
) -> dict[str, Any] | None:
    """The message this row already posted, found by its metadata, if Slack has it.
    Only messages from the row's creation on are read, a small page at a time: reads
    may be limited to one call a minute (apps outside the Marketplace). With `seen`, what
    one read found serves the other rows looked for in the same place."""
    channel = kwargs["channel"]
    oldest = max(0.0, since.timestamp() - LOOKUP_MARGIN_SECONDS)
    seen = seen if seen is not None else Seen()
    try:
        found = seen.posts(client, channel, kwargs.get("thread_ts"), oldest)
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        log.warning("outbox %s: cannot look for an earlier post: %s", row_id, error_code(exc))
        return None
    if row_id in found:
        log.info("outbox %s was already in Slack as %s", row_id, found[row_id]["ts"])
    return found.get(row_id)


class Seen:
    """The bot's posts found in a channel or thread, by the outbox ids they carry, for one
    delivery pass: a burst of rows whose outcome went unheard (a digest's, or those of a
    connection that broke) costs one read of their channel, not one each."""

    def __init__(self) -> None:
        self._read: dict[tuple[str, str | None], tuple[float, dict[int, dict[str, Any]]]] = {}

    def posts(
        self, client: WebClient, channel: str, thread_ts: str | None, oldest: float
    ) -> dict[int, dict[str, Any]]:
        key = (channel, thread_ts)
        known = self._read.get(key)
        if known is not None and known[0] <= oldest:
            return known[1]
        found = _scan(client, channel, thread_ts, oldest)
        self._read[key] = (oldest, found)
        return found


def _scan(
    client: WebClient, channel: str, thread_ts: str | None, oldest: float
) -> dict[int, dict[str, Any]]:
    if channel[:1] in ("U", "W"):
        # A direct message was posted to a user id: look in the conversation it made with
        # them.
        channel = client.conversations_open(users=channel)["channel"]["id"]
    found: dict[int, dict[str, Any]] = {}
    for messages in _recent_pages(client, channel, thread_ts, f"{oldest:.6f}"):
        for message in messages:
            meta = message.get("metadata") or {}
            if meta.get("event_type") != METADATA_TYPE:
                continue
            payload = meta.get("event_payload") or {}
            # A digest carries every row it delivered.
            for row_id in [payload.get("outbox_id"), *(payload.get("outbox_ids") or ())]:
                if isinstance(row_id, int):
                    found[row_id] = {"ts": message.get("ts"), "channel": channel}
    return found


def _recent_pages(
    client: WebClient,
    channel: str,
    thread_ts: str | None,
    oldest: str,
    pages: int = LOOKUP_PAGES,
) -> Iterator[list[dict[str, Any]]]:
    """The thread's or channel's messages since `oldest`, a page at a time."""
    cursor = None
    for _ in range(pages):
        if thread_ts:
            resp = client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                oldest=oldest,
                limit=LOOKUP_PAGE,
                cursor=cursor,
                include_all_metadata=True,
            )
        else:
            resp = client.conversations_history(
                channel=channel,
                oldest=oldest,
                limit=LOOKUP_PAGE,
                cursor=cursor,
                include_all_metadata=True,
            )
        yield list(resp.get("messages") or [])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return
