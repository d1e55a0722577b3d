"""Process settings, read from the environment or a `.env` file (see the README's table)."""

from __future__ import annotations

import base64
import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A missing or malformed setting; its message is one line naming the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Multi-workspace mode: Slack's OAuth install flow at /slack/install stores a bot token
    # per workspace in the database. Both set, with a state secret, turn it on.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    # Who may install in multi-workspace mode: workspace ids (T…) and Enterprise Grid
    # organisation ids (E…), comma-separated. Neither set: any workspace may.
    allowed_teams: str | None = None
    allowed_enterprises: str | None = None
    # Fernet keys, comma-separated: the first encrypts the installations' tokens in the
    # database, each of them decrypts (key rotation).
    token_encryption_key: SecretStr | None = None
    # GET /slack/install from one client address, at most this many a minute.
    install_rate_per_minute: int = Field(default=10, ge=1)
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///escalation-bot.db"
    policies_path: str = "policies"
    tick_seconds: float = Field(default=1.0, gt=0)
    auto_migrate: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Reactions that open a case, comma-separated emoji names without colons.
    trigger_emoji: str = "ticket"
    # A channel id that gets a one-line notice for every new case.
    triage_channel: str | None = None
    # Where `serve` and `socket` run the background work (bot/worker.py): `auto` is a
    # separate worker process on PostgreSQL and a thread on SQLite.
    background_work: Literal["auto", "thread", "process", "off"] = "auto"
    # A channel id that gets the weekly SLA report (Mondays 09:00 UTC, the seven days before).
    report_channel: str | None = None
    # The weekly post's rows: per policy and severity, or per policy and channel.
    report_by: Literal["policy", "channel"] = "policy"
    # Signs the JSON POST of `webhook:` page targets (HMAC-SHA256), so a receiver can check it.
    page_webhook_secret: SecretStr | None = None
    # `serve`'s HTTP server (bot.web.edge_options): the time a client has to send a whole
    # request once it has begun, the time a connection may wait idle for its next request,
    # and the open connections beyond which a request is answered 503.
    http_read_timeout_seconds: float = Field(default=10.0, gt=0)
    http_idle_timeout_seconds: float = Field(default=5.0, gt=0)
    http_max_connections: int = Field(default=2000, ge=1)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(v)
        except ArgumentError as exc:
            raise ValueError("is not a SQLAlchemy database URL") from exc
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("background_work", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xox"):
            raise ValueError("must be a bot token starting with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return v

    @field_validator("allowed_teams", "allowed_enterprises")
    @classmethod
    def _ids(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return None
        prefix = "T" if info.field_name == "allowed_teams" else "E"
        example = f"{prefix}0123ABCD"
        for item in v.split(","):
            if item.strip() and not re.fullmatch(rf"{prefix}[A-Z0-9]{{2,30}}", item.strip()):
                raise ValueError(f"{item.strip()!r} is not a Slack id such as {example}")
        return v

    @property
    def allowed_team_ids(self) -> frozenset[str]:
        return _id_set(self.allowed_teams)

    @property
    def allowed_enterprise_ids(self) -> frozenset[str]:
        return _id_set(self.allowed_enterprises)

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        found = [k.strip() for k in v.get_secret_value().split(",") if k.strip()]
        if not found:
            raise ValueError("must be one or more Fernet keys, comma-separated")
        for n, key in enumerate(found, 1):
            try:
                raw = base64.urlsafe_b64decode(key.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    f"key {n} is not a Fernet key (32 bytes, URL-safe base64; make one with "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)"
                )
        return v

    @property
    def multi_workspace(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @field_validator("slack_state_secret")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v

    @property
    def trigger_emoji_set(self) -> frozenset[str]:
        return frozenset(e.strip().strip(":") for e in self.trigger_emoji.split(",") if e.strip())

    def secrets(self) -> list[str]:
        """The configured credentials, for the log filter to mask wherever they appear."""
        from sqlalchemy.engine import make_url

        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.slack_state_secret,
            self.page_webhook_secret,
        )
        found = [v.get_secret_value() for v in values if v is not None]
        if self.token_encryption_key is not None:
            keys = self.token_encryption_key.get_secret_value().split(",")
            found += [k.strip() for k in keys if k.strip()]
        password = make_url(self.database_url).password
        return [*found, str(password)] if password else found

    def require(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise SettingsError(f"{name.upper()} is not set: it is required for this command")


def _id_set(value: str | None) -> frozenset[str]:
    return frozenset(i.strip() for i in (value or "").split(",") if i.strip())


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn pydantic's report into one line that names the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} is invalid: {msg}") from None
