"""Multi-workspace installs: Slack's OAuth flow (slack-bolt's OAuthFlow) with slack-sdk's
SQLAlchemy installation and state stores on the bot's own database. The state handed to
Slack is also signed with the state secret, so a forged or altered one is refused before it
is looked up."""

from __future__ import annotations

import hashlib
import hmac
import logging

from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

from bot.slack.surface import SCOPES

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# A state lives this long: from the install page to Slack's redirect back.
STATE_SECONDS = 600


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


def installation_store(engine: Engine, client_id: str) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)


def oauth_flow(
    engine: Engine,
    store: SQLAlchemyInstallationStore,
    client_id: str,
    client_secret: str,
    state_secret: str,
    api_url: str,
) -> OAuthFlow:
    states = SignedStateStore(
        SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log),
        state_secret,
    )
    settings = OAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    return OAuthFlow(client=WebClient(base_url=api_url), logger=log, settings=settings)
