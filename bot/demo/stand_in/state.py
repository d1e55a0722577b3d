"""The Slack stand-in's workspace state: users, conversations and messages, how a test seeds
them, and the lookups every Web API method shares (a conversation by id as the calling
token sees it, a message stored with its thread).

State is kept in memory and guarded by one lock, because the server answers each request on
its own thread. Tokens are checked but never stored: the call log keeps only whether one was
sent and whether it matched.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, SystemClock
from bot.demo.stand_in import rules
from bot.demo.stand_in.model import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_NAME,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_TEAM_NAME,
    DEFAULT_TOKEN,
    ApiError,
    Call,
    Channel,
    Message,
    User,
)
from bot.slack.limits import Profile
from bot.slack.surface import SCOPES

if TYPE_CHECKING:
    from bot.demo.stand_in.serving import Server

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class State:
    """The stand-in's workspace, seeded by the tests and changed by the Web API methods."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = DEFAULT_TEAM_NAME,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        app_id: str = DEFAULT_APP_ID,
        clock: Clock | None = None,
        port: int = 0,
        scopes: Iterable[str] = SCOPES,
        rate_profile: Profile = "internal",
    ) -> None:
        self._token = token
        # The scopes every token of this app was granted: the manifest's bot scopes.
        self.scopes = tuple(scopes)
        self._rates = rules.RateLimiter(rate_profile)
        self._triggers = rules.Triggers()
        self._response_urls = rules.ResponseUrls()
        # Rules a test switched off, with the reason it gave.
        self.relaxed: dict[str, str] = {}
        # Every workspace's bot token -> (team id, team name, bot user id), for apps installed
        # in several workspaces; the first is the one given above.
        self._workspaces: dict[str, tuple[str, str, str]] = {
            token: (team_id, team_name, bot_user_id)
        }
        self._caller: tuple[str, str, str] | None = None
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self._clock = clock or SystemClock()
        self._port = port

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, dict[str, Message]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._opened_views: list[dict[str, Any]] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._last_ts_micros = 0
        self._ids = itertools.count(1)

        self._calls: list[Call] = []
        self._posted: list[Message] = []
        self._seq = itertools.count(1)

        self.add_user(bot_user_id, bot_name, bot_name, is_bot=True)

    # ------------------------------------------------------------------ rules switched off

    RULES = ("scopes", "rate_limits", "trigger_id", "blocks", "response_url", "teams")

    def relax(self, rule: str, *, why: str) -> None:
        """Switch one of Slack's rules off; only for a test that says why."""
        if rule not in self.RULES:
            raise ValueError(f"unknown rule {rule!r}; the rules are {', '.join(self.RULES)}")
        if not why.strip():
            raise ValueError("say why the rule is switched off")
        self.relaxed[rule] = why

    def enforces(self, rule: str) -> bool:
        return rule not in self.relaxed

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        *,
        team_id: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        guest: bool = False,
    ) -> User:
        user = User(
            id=id,
            name=name,
            real_name=real_name if real_name is not None else name,
            tz=tz,
            team_id=team_id or self.team_id,
            is_bot=is_bot,
            deleted=deleted,
            email=email,
            is_restricted=guest,
        )
        with self._lock:
            self._users[id] = user
        return user

    def add_channel(
        self,
        id: str,
        name: str,
        bot_member: bool = True,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        is_ext_shared: bool = False,
        connected_team_ids: Iterable[str] = (),
        readable_without_membership: bool = False,
        team_id: str | None = None,
    ) -> Channel:
        channel = Channel(
            team_id=team_id,
            id=id,
            name=name,
            members=list(members),
            bot_member=bot_member,
            is_private=is_private,
            is_ext_shared=is_ext_shared,
            connected_team_ids=list(connected_team_ids),
            readable_without_membership=readable_without_membership,
            created=int(self._clock.now().timestamp()),
        )
        with self._lock:
            self._channels[id] = channel
            self._messages.setdefault(id, {})
        return channel

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        team: str | None = None,
    ) -> str:
        """Store a message as if a person had posted it; returns its minted ts."""
        with self._lock:
            ch = self._require_channel(channel)
            if user not in ch.members:
                ch.members.append(user)
            if team is None:
                known = self._users.get(user)
                team = known.team_id if known else self.team_id
            msg = self._store_message(
                ch, user=user, text=text, blocks=blocks, thread_ts=thread_ts, team=team
            )
            self._changed.notify_all()
            return msg.ts

    # ------------------------------------------------------------------ model helpers

    def _mint_ts(self) -> str:
        micros = (self._clock.now() - _EPOCH) // timedelta(microseconds=1)
        micros = max(micros, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def _permalink(self, channel: str, ts: str, thread_ts: str | None) -> str:
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    def _require_channel(self, channel: str) -> Channel:
        ch = self._channels.get(channel)
        if ch is None:
            raise KeyError(f"unknown channel {channel}")
        return ch

    def _store_message(
        self,
        ch: Channel,
        *,
        user: str | None,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
        team: str,
        bot: bool = False,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        stored = self._messages.setdefault(ch.id, {})
        parent = stored.get(thread_ts) if thread_ts else None
        if parent is not None and parent.is_reply:
            # A reply to a reply lands in the same thread, as in Slack.
            thread_ts = parent.thread_ts
            parent = stored.get(thread_ts) if thread_ts else None
        ts = self._mint_ts()
        msg = Message(
            channel=ch.id,
            ts=ts,
            user=user,
            text=text,
            team=team,
            permalink=self._permalink(ch.id, ts, thread_ts),
            blocks=copy.deepcopy(blocks),
            thread_ts=thread_ts,
            bot_id=self.bot_id if bot else None,
            app_id=self.app_id if bot else None,
            subtype="thread_broadcast" if broadcast and thread_ts else None,
            parent_user_id=parent.user if parent else None,
            metadata=copy.deepcopy(metadata),
        )
        stored[ts] = msg
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.reply_count += 1
            parent.latest_reply = ts
            if user and user not in parent.reply_users:
                parent.reply_users.append(user)
        return msg

    # ------------------------------------------------------------------ conversation lookups

    def _channel_for(self, channel_id: Any) -> Channel:
        if not channel_id:
            raise ApiError("channel_not_found")
        channel_id = str(channel_id)
        ch = self._channels.get(channel_id)
        if ch is None and channel_id.startswith("#"):
            ch = next((c for c in self._channels.values() if c.name == channel_id[1:]), None)
        if ch is None or not self._visible_to_caller(ch):
            raise ApiError("channel_not_found")
        return ch

    def _visible_to_caller(self, ch: Channel) -> bool:
        """A token sees its own workspace's conversations and those shared with it."""
        if self._caller is None or not self.enforces("teams"):
            return True
        team = self._caller[0]
        return (ch.team_id or self.team_id) == team or team in ch.connected_team_ids

    def _postable_channel(self, channel_id: Any) -> Channel:
        """Resolve a post target; a user ID means the bot's DM with that user."""
        if channel_id and str(channel_id) in self._users and str(channel_id) not in self._channels:
            return self._im_with(str(channel_id))
        ch = self._channel_for(channel_id)
        if not ch.bot_member:
            raise ApiError("not_in_channel")
        return ch

    def _readable_channel(self, channel_id: Any) -> Channel:
        ch = self._channel_for(channel_id)
        if not ch.bot_member and not ch.readable_without_membership:
            raise ApiError("not_in_channel")
        return ch

    def _im_with(self, user: str) -> Channel:
        for ch in self._channels.values():
            if ch.is_im and ch.im_user == user:
                return ch
        ch = Channel(
            id=self._new_id("D"),
            name=user,
            members=[user],
            is_im=True,
            is_private=True,
            im_user=user,
            team_id=self._caller[0] if self._caller else None,
            created=int(self._clock.now().timestamp()),
        )
        self._channels[ch.id] = ch
        self._messages[ch.id] = {}
        return ch
