"""slack-sdk's installation and OAuth state stores (multi-workspace mode) keep their own
tables. They are declared here, apart from bot.db.models, so that the domain, which imports
the models, never imports a Slack library. `schema()` is the whole schema, the bot's tables
and these: what the migrations build and the checks compare with a database."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

from bot.db.models import Base

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"


def schema() -> MetaData:
    whole = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(whole)
    SQLAlchemyInstallationStore.build_installations_table(whole, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(whole, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(whole, OAUTH_STATES)
    return whole
