"""Which database failures are worth trying again."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa

_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")  # connection, rollback, resources, admin


def is_transient_db(exc: BaseException) -> bool:
    """A fault that may pass (the database unreachable or restarting, a serialization
    failure, a lock timeout), as opposed to input the database will refuse every time."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate.startswith(_TRANSIENT_SQLSTATE_CLASSES)
    if isinstance(orig, sqlite3.OperationalError):
        return True  # locked or busy; SQLite's permanent errors are other classes
    return isinstance(
        orig,
        sa.OperationalError
        | sa.InterfaceError
        | sa.TimeoutError
        | psycopg.OperationalError
        | psycopg.InterfaceError,
    )
