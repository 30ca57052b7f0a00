"""Source values as SQLAlchemy hands them over from any backend, normalised to Python types.

better-auth's Kysely adapter stores dates as native timestamps on PostgreSQL and MySQL but as ISO
strings (or epoch milliseconds) on SQLite, and booleans as 0/1 where the database has no boolean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["as_bool", "as_datetime", "as_int", "as_text", "same_instant"]


def as_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime, an ISO-8601 string or epoch (milli)seconds; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 10**11 else value  # ms since 1973, or seconds
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return as_datetime(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return default


def as_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def same_instant(a: datetime | None, b: datetime | None) -> bool:
    """Equal to the millisecond: better-auth keeps milliseconds, some backends keep microseconds."""
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 0.001
