"""The Web API client: slack-sdk's WebClient with its retry handlers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def make_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    # Short in-call retries absorb a blip; anything longer goes back to the outbox or inbox,
    # which retry with backoff without holding up other channels.
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
