"""The Web API client: slack-sdk's WebClient with its retry handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler


def make_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    # One quick retry of a connection refused or reset absorbs a blip. Rate limits and
    # Slack's 5xx go straight back to the outbox or inbox, which retry them later with the
    # wait Slack asks for: a handler here would sleep inside the background pass and hold up
    # every other channel.
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )
