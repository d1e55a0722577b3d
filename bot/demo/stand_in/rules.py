"""The rules Slack enforces on a Web API call, kept apart from the stand-in's state so each
can be read (and switched off by a test that says why) on its own.

- Scopes: what each method needs, by the kind of conversation it touches (Slack's method
  reference pages list them). A token has the scopes it was granted; a call without them
  gets `missing_scope` with `needed` and `provided`.
- Rate limits: the table in `bot.slack.limits`, as token buckets on the stand-in's clock.
- `trigger_id`: minted by Slack with the request that carries it, good for 3 seconds, once.
- Block Kit: blocks and views are checked with slack-sdk's models and Slack's limits.
- `response_url`: up to 5 uses within 30 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.limits import Buckets, Profile, limit_for

# Scopes a method needs whatever it touches.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.open": ("im:write",),
    "conversations.join": ("channels:join",),
    "users.info": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "views.open": (),
    "views.publish": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "reactions.add": ("reactions:write",),
    "oauth.v2.access": (),
    # No scope: the installation's own token, with the app's credentials.
    "apps.uninstall": (),
    # No scope: an org-wide installation's token lists the workspaces it was added to.
    "auth.teams.list": (),
}
# Methods whose scope depends on the conversation: (public channel, private channel, DM).
CONVERSATION_SCOPES: dict[str, tuple[str, str, str]] = {
    "conversations.info": ("channels:read", "groups:read", "im:read"),
    "conversations.members": ("channels:read", "groups:read", "im:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
}


def needed_scopes(method: str, kind: str | None) -> tuple[str, ...]:
    """The scopes a call needs; `kind` is "public", "private" or "im" for conversation
    methods (None when the conversation is unknown: any of the three will do)."""
    if method in CONVERSATION_SCOPES:
        public, private, im = CONVERSATION_SCOPES[method]
        return {"public": (public,), "private": (private,), "im": (im,)}.get(kind or "", (public,))
    return METHOD_SCOPES.get(method, ())


def every_scope(methods: list[str] | tuple[str, ...]) -> set[str]:
    """Every scope the given methods can need, across conversation kinds."""
    out: set[str] = set()
    for method in methods:
        out.update(METHOD_SCOPES.get(method, ()))
        out.update(CONVERSATION_SCOPES.get(method, ()))
    return out


# ---------------------------------------------------------------------- rate limits


@dataclass
class RateLimiter:
    """Slack's limits (bot.slack.limits) on the stand-in's clock."""

    profile: Profile = "internal"
    _buckets: Buckets = field(default_factory=Buckets)

    def take(self, team: str, method: str, channel: str | None, now: datetime) -> int | None:
        """Spend one call; None if allowed, else the seconds to wait (Retry-After)."""
        limit = limit_for(method, self.profile)
        if limit is None:
            return None
        return self._buckets.take(team, method, channel, limit, now)


# ---------------------------------------------------------------------- trigger ids

TRIGGER_LIFETIME = timedelta(seconds=3)


@dataclass
class Triggers:
    """trigger_ids Slack handed out with a request, when, and whether one was used."""

    _issued: dict[str, datetime] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)

    def issue(self, trigger_id: str, now: datetime) -> None:
        self._issued.setdefault(trigger_id, now)

    def exchange(self, trigger_id: Any, now: datetime) -> str | None:
        """Use the trigger; None when that is allowed, else Slack's error."""
        if not isinstance(trigger_id, str) or trigger_id not in self._issued:
            return "invalid_trigger_id"
        if trigger_id in self._used:
            return "exchanged_trigger_id"
        if now - self._issued[trigger_id] > TRIGGER_LIFETIME:
            return "expired_trigger_id"
        self._used.add(trigger_id)
        return None


# ---------------------------------------------------------------------- response_url

RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = timedelta(minutes=30)


@dataclass
class ResponseUrls:
    _issued: dict[str, datetime] = field(default_factory=dict)
    _uses: dict[str, int] = field(default_factory=dict)

    def issue(self, name: str, now: datetime) -> None:
        self._issued.setdefault(name, now)

    def use(self, name: str, now: datetime) -> str | None:
        """None when a post to it is allowed, else why not (Slack answers 404)."""
        issued = self._issued.get(name)
        if issued is None:
            return "invalid_url"
        if now - issued > RESPONSE_URL_LIFETIME:
            return "expired_url"
        if self._uses.get(name, 0) >= RESPONSE_URL_USES:
            return "used_url"
        self._uses[name] = self._uses.get(name, 0) + 1
        return None


# ---------------------------------------------------------------------- Block Kit

# Slack's documented limits: blocks in a message, in a modal or Home tab; message text.
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
PRIVATE_METADATA = 3000
# A block_id or action_id.
ID_LENGTH = 255


def block_problems(blocks: Any, *, limit: int = MESSAGE_BLOCKS) -> list[str]:
    """What Slack would refuse in a `blocks` list (empty when it is fine)."""
    if not isinstance(blocks, list):
        return ["must be a list of blocks"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            problems.append(f"missing type [json-pointer:/blocks/{i}]")
            continue
        problems += [f"{p} [json-pointer:/blocks/{i}]" for p in _block_problems(raw)]
    return problems


def _block_problems(raw: dict[str, Any]) -> list[str]:
    problems = _id_problems(raw)
    try:
        block = Block.parse(raw)
        if block is None or type(block) is Block:
            return [*problems, f"unknown block type {raw.get('type')!r}"]
        block.validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        problems.append(str(e) or type(e).__name__)
    return problems


def _id_problems(value: Any) -> list[str]:
    """action_id and block_id anywhere inside, over Slack's 255 characters."""
    found: list[str] = []
    if isinstance(value, dict):
        for key in ("action_id", "block_id"):
            if isinstance(value.get(key), str) and len(value[key]) > ID_LENGTH:
                found.append(f"{key} must be less than {ID_LENGTH} characters")
        for item in value.values():
            found += _id_problems(item)
    elif isinstance(value, list):
        for item in value:
            found += _id_problems(item)
    return found


def view_problems(view: Any) -> list[str]:
    """What Slack would refuse in a modal or Home tab view."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["view must be an object with type modal or home"]
    problems = block_problems(view.get("blocks"), limit=VIEW_BLOCKS)
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA:
        problems.append(f"private_metadata must be less than {PRIVATE_METADATA} characters")
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        problems.append(str(e) or type(e).__name__)
    return problems
