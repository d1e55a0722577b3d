"""Multi-workspace installs: Slack's OAuth flow (slack-bolt's OAuthFlow) with the bot's
installation store (bot/slack/installations.py: tokens encrypted) and slack-sdk's OAuth state
store, on the bot's own database.

- The install page is rate-limited per client address (INSTALL_RATE_PER_MINUTE); each
  state it writes is single-use, expires, and is signed with the state secret, so a forged
  or altered one is refused before it is looked up; expired states are deleted whenever a
  new one is written (and by `purge`).
- Its `team` parameter, which asks Slack to preselect a workspace, must be a workspace id,
  and every parameter of the authorize link is URL-encoded.
- At the redirect, an installation from a workspace or organisation outside ALLOWED_TEAMS /
  ALLOWED_ENTERPRISES (when either is set) is refused: nothing is stored, and the token Slack
  has just issued is given back (`apps.uninstall`).
- What Slack's exchange sends and answers (the code, the new tokens) is never logged."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import FailureArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.settings import Settings
from bot.slack.install_limits import RateLimit
from bot.slack.installations import SealedInstallationStore, key_of
from bot.slack.surface import SCOPES
from bot.slack.token_cipher import TokenCipher

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# A state lives this long: from the install page to Slack's redirect back.
STATE_SECONDS = 600
# Where the web layer puts the client's address in the request's context.
CLIENT_ADDRESS = "client_address"
TEAM_ID = re.compile(r"T[A-Z0-9]{2,30}")


class _WithoutCode(logging.Filter):
    """slack-bolt quotes the code in its lines about a failed exchange and a failed
    redirect: say what failed, never the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "with code:" in message:
            error = re.search(r"'error': '([a-z_]+)'", message)
            record.msg = "Slack refused the OAuth code exchange (%s)"
            record.args = (error.group(1) if error else "no answer",)
        elif message.startswith("Handling an OAuth callback failure"):
            reason = re.search(r"reason: ([a-z_]+)", message)
            record.msg = "an install did not complete (%s)"
            record.args = (reason.group(1) if reason else "unknown",)
        elif "'code'" in message:
            record.msg, record.args = re.sub(r"'code': \[[^\]]*\]", "'code': ...", message), ()
        return True


# The flow's own loggers: its lines without the code, and its Web API client's at WARNING
# whatever LOG_LEVEL says (slack-sdk logs the exchange's parameters and answer at DEBUG).
_FLOW_LOG = logging.getLogger(f"{__name__}.flow")
_FLOW_LOG.addFilter(_WithoutCode())
_EXCHANGE_LOG = logging.getLogger(f"{__name__}.exchange")
_EXCHANGE_LOG.setLevel(logging.WARNING)


class ExpiringStateStore(SQLAlchemyOAuthStateStore):
    """slack-sdk's state store, which deletes the expired states when it writes a new one."""

    def issue(self, *args: Any, **kwargs: Any) -> str:
        now = datetime.now(UTC).replace(tzinfo=None)  # the store's naive UTC
        with self.engine.begin() as conn:
            conn.execute(delete(self.oauth_states).where(self.oauth_states.c.expire_at < now))
        return str(super().issue(*args, **kwargs))


class SignedStateStore(OAuthStateStore):
    """States from the database store (single use, expiring), each with an HMAC."""

    def __init__(self, inner: OAuthStateStore, secret: str) -> None:
        self.inner = inner
        self._secret = secret.encode()

    @property
    def logger(self) -> logging.Logger:
        return log

    def _mac(self, state: str) -> str:
        return hmac.new(self._secret, state.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, *args: object, **kwargs: object) -> str:
        state = self.inner.issue()
        return f"{state}.{self._mac(state)}"

    def consume(self, state: str) -> bool:
        raw, _, mac = state.rpartition(".")
        if not raw or not hmac.compare_digest(self._mac(raw), mac):
            log.warning("refused an OAuth redirect: its state is not one the bot issued")
            return False
        return bool(self.inner.consume(raw))


class EncodedAuthorizeUrl(AuthorizeUrlGenerator):
    """slack-sdk's link to Slack's authorize page, each parameter URL-encoded."""

    def generate(self, state: str, team: str | None = None) -> str:
        query = {
            "state": state,
            "client_id": self.client_id,
            "scope": ",".join(self.scopes or ()),
            "user_scope": ",".join(self.user_scopes or ()),
        }
        if self.redirect_uri is not None:
            query["redirect_uri"] = self.redirect_uri
        if team is not None:
            query["team"] = team
        return f"{self.authorization_url}?{urlencode(query)}"


class Refused(BoltError):
    """An installation from a workspace or organisation the settings do not allow."""

    def __init__(self, installation: Installation) -> None:
        self.team_id = installation.team_id
        self.enterprise_id = installation.enterprise_id
        where = [f"workspace {self.team_id}"] if self.team_id else []
        where += [f"organisation {self.enterprise_id}"] if self.enterprise_id else []
        super().__init__(" of ".join(where) or "an unnamed workspace")


def _text(status: int, body: str, headers: dict[str, Any] | None = None) -> BoltResponse:
    return BoltResponse(
        status=status,
        body=body,
        headers={"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )


class InstallFlow(OAuthFlow):
    def __init__(
        self,
        *,
        client: WebClient,
        settings: OAuthSettings,
        allowed_teams: frozenset[str],
        allowed_enterprises: frozenset[str],
        limit: RateLimit,
    ) -> None:
        super().__init__(client=client, logger=_FLOW_LOG, settings=settings)
        self.allowed_teams = allowed_teams
        self.allowed_enterprises = allowed_enterprises
        self.limit = limit
        default_failure = self.failure_handler

        def failure(args: FailureArgs) -> BoltResponse:
            if isinstance(args.error, Refused):
                return _text(403, f"This app cannot be installed in {args.error}.\n")
            return default_failure(args)

        self.failure_handler = failure

    def handle_installation(self, request: BoltRequest) -> BoltResponse:
        address = str(request.context.get(CLIENT_ADDRESS) or "")
        wait = self.limit.take(address)
        if wait is not None:
            log.warning("refused the install page to %s: over the rate limit", address or "?")
            return _text(429, "Too many requests: try again later.\n", {"Retry-After": wait})
        teams = request.query.get("team")
        if teams is not None and (len(teams) != 1 or not TEAM_ID.fullmatch(teams[0])):
            return _text(400, "team must be a Slack workspace id, such as T0123ABCD.\n")
        return super().handle_installation(request)

    def admits(self, installation: Installation) -> bool:
        if not (self.allowed_teams or self.allowed_enterprises):
            return True
        team = None if installation.is_enterprise_install else installation.team_id
        return team in self.allowed_teams or installation.enterprise_id in self.allowed_enterprises

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        if not self.admits(installation):
            refused = Refused(installation)
            log.warning("refused an installation from %s: not allowed by the settings", refused)
            self._give_back(installation)
            raise refused
        super().store_installation(request, installation)
        key = key_of(
            installation.enterprise_id,
            installation.team_id,
            bool(installation.is_enterprise_install),
        )
        log.info("installed in %s", key)

    def _give_back(self, installation: Installation) -> None:
        """Undo the installation Slack has made: the app leaves that workspace."""
        if not installation.bot_token:
            return
        try:
            self.client.apps_uninstall(
                token=installation.bot_token,
                client_id=self.settings.client_id,
                client_secret=self.settings.client_secret,
            )
        except Exception as exc:
            log.warning("could not uninstall the refused installation: %s", type(exc).__name__)


def installation_store(engine: Engine, settings: Settings) -> SealedInstallationStore:
    """The installation store; at start, tokens in clear or under an older key are sealed
    with the first key."""
    assert settings.slack_client_id is not None
    key = settings.token_encryption_key
    cipher = TokenCipher(key.get_secret_value()) if key is not None else None
    if cipher is None:
        log.warning(
            "TOKEN_ENCRYPTION_KEY is not set: workspace tokens are stored in the database in "
            "clear (set it in production)"
        )
    store = SealedInstallationStore(settings.slack_client_id, engine, cipher)
    resealed = store.reseal()
    if resealed:
        log.info("sealed the tokens of %d installation rows with the first key", resealed)
    return store


def oauth_flow(
    engine: Engine, store: SealedInstallationStore, settings: Settings, clock: Clock
) -> OAuthFlow:
    assert settings.slack_client_id and settings.slack_client_secret
    assert settings.slack_state_secret is not None
    states = SignedStateStore(
        ExpiringStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log),
        settings.slack_state_secret.get_secret_value(),
    )
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        logger=_FLOW_LOG,
    )
    oauth.authorize_url_generator = EncodedAuthorizeUrl(
        client_id=oauth.client_id,
        redirect_uri=oauth.redirect_uri,
        scopes=oauth.scopes,
        user_scopes=oauth.user_scopes,
        authorization_url=oauth.authorization_url,
    )
    return InstallFlow(
        client=WebClient(base_url=settings.slack_api_url, logger=_EXCHANGE_LOG),
        settings=oauth,
        allowed_teams=settings.allowed_team_ids,
        allowed_enterprises=settings.allowed_enterprise_ids,
        limit=RateLimit(settings.install_rate_per_minute, clock),
    )
