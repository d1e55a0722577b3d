"""How Web API failures map onto what the bot does next."""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from bot import inbox
from bot.webhooks import HttpStatusError

# Errors that mean the bot cannot see the conversation: ask a human to invite it.
NO_ACCESS = frozenset({"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found"})


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying later: rate limits, Slack's 5xx, network trouble."""
    if isinstance(exc, HttpStatusError):
        return exc.status == 429 or exc.status >= 500
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return (
            status == 429
            or status >= 500
            or exc.response.get("error")
            in (
                "ratelimited",
                "internal_error",
                "fatal_error",
                "service_unavailable",
                "request_timeout",
            )
        )
    return isinstance(exc, URLError | TimeoutError | ConnectionError | OSError)


def retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        value = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        if isinstance(value, list):
            value = value[0]
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None
    return None


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return None


# A request whose handler met one of these is stored again for later, not parked.
inbox.retry_when(is_transient)
