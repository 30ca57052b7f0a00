"""Telling a database that is briefly away from a write that will never succeed."""

from __future__ import annotations

from sqlalchemy import exc

#: SQLite messages of a busy or unreachable file, worth retrying.
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_transient(error: BaseException) -> bool:
    """True for lost connections, refused connections, pool timeouts and a busy SQLite file."""
    if isinstance(error, exc.TimeoutError | exc.DisconnectionError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        module = type(error.orig).__module__
        if module.startswith("psycopg"):
            import psycopg

            return isinstance(error.orig, psycopg.OperationalError | psycopg.InterfaceError)
        if module.startswith("sqlite3"):
            message = str(error.orig).lower()
            return isinstance(error, exc.OperationalError) and any(m in message for m in _SQLITE_TRANSIENT)
    return False
