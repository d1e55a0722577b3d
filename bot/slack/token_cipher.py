"""Workspace tokens at rest: each is sealed with Fernet (cryptography) under the first key of
TOKEN_ENCRYPTION_KEY before it is written, and opened with whichever of the keys sealed it
when it is read. A value that still starts with `xox` is a token written in clear (before
encryption was configured, or by an earlier release): it is read as it is, and resealed."""

from __future__ import annotations

# slack-sdk's token columns are VARCHAR(200): a sealed token of up to 79 characters fits
# (Slack's bot tokens are about 55; rotated `xoxe.` tokens are longer, and the Slack app does
# not turn token rotation on).
COLUMN_LENGTH = 200


class TokenUnreadable(Exception):
    """A stored token none of the configured keys opens (or no key is configured)."""


def keys(setting: str) -> list[str]:
    """The keys of a TOKEN_ENCRYPTION_KEY value: comma-separated, the first one seals."""
    return [k.strip() for k in setting.split(",") if k.strip()]


def is_clear(value: str) -> bool:
    return value.startswith("xox")


class TokenCipher:
    def __init__(self, setting: str) -> None:
        # Imported only where a key is configured: cryptography costs every process that
        # loads it about 7 MB, and a single-workspace bot stores no token.
        from cryptography.fernet import Fernet, InvalidToken, MultiFernet

        fernets = [Fernet(k.encode()) for k in keys(setting)]
        if not fernets:
            raise ValueError("no key")
        self._first = fernets[0]
        self._all = MultiFernet(fernets)
        self._invalid: type[Exception] = InvalidToken

    def seal(self, token: str) -> str:
        sealed = self._first.encrypt(token.encode()).decode()
        if len(sealed) > COLUMN_LENGTH:
            raise ValueError(
                f"a token of {len(token)} characters is {len(sealed)} once encrypted: "
                f"more than its column holds ({COLUMN_LENGTH})"
            )
        return sealed

    def open(self, value: str) -> str:
        if is_clear(value):
            return value
        try:
            return self._all.decrypt(value.encode()).decode()
        except self._invalid:
            raise TokenUnreadable("none of the keys in TOKEN_ENCRYPTION_KEY opens it") from None

    def stale(self, value: str) -> bool:
        """Whether a stored value should be sealed again: in clear, or under an older key."""
        if is_clear(value):
            return True
        try:
            self._first.decrypt(value.encode())
        except self._invalid:
            return True
        return False


def open_without_key(value: str) -> str:
    """Reading a stored token when no key is configured: only one written in clear."""
    if is_clear(value):
        return value
    raise TokenUnreadable("it is encrypted and TOKEN_ENCRYPTION_KEY is not set")
