"""The log filter masks anything that looks like a Slack token or a signature."""

from __future__ import annotations

import io
import logging

from bot.logs import JsonFormatter, RedactFilter, redact


def test_redact_masks_tokens_bearer_headers_and_signatures() -> None:
    text = (
        "token xoxb-123-456-abcDEF and xapp-1-A0-99-ff, header Bearer xoxp-9-9, sig v0=" + "a" * 64
    )
    masked = redact(text)
    for secret in ("xoxb-123-456-abcDEF", "xapp-1-A0-99-ff", "xoxp-9-9", "a" * 64):
        assert secret not in masked
    assert masked.count("[redacted]") == 4


def test_a_logged_exception_is_masked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    try:
        raise RuntimeError("bad token xoxb-1111-2222-secret")
    except RuntimeError:
        log.exception("calling Slack with %s failed", "xoxb-1111-2222-secret")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "xoxb-1111-2222-secret" not in out
    assert "[redacted]" in out and "RuntimeError" in out
