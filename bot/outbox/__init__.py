"""What the bot will say: each outbox intent and the typed payload its rows carry. A payload
is checked when its row is written (`check`) and again when it is read back for delivery
(`read`), so a renderer never meets a field it does not expect."""

from bot.outbox.payloads import PAYLOADS, Intent, Payload, PayloadError, check, read

__all__ = ["PAYLOADS", "Intent", "Payload", "PayloadError", "check", "read"]
