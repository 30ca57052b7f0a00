"""Selecting audit entries: the filters shared by the API and the CLI, cursors, and the JSON shape."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, select

from app.modules.audit.chain import format_time, table


class InvalidCursor(ValueError):
    """A cursor that this server did not hand out."""


@dataclass(frozen=True)
class Filters:
    """Which entries to select; None means "any". ``after`` and ``before`` are exclusive."""

    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    organization_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        for name in ("actor_id", "action", "resource_type", "resource_id", "organization_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(table.c[name] == value)
        if self.after is not None:
            clauses.append(table.c.created_at > _utc(self.after))
        if self.before is not None:
            clauses.append(table.c.created_at < _utc(self.before))
        return clauses


def _utc(value: datetime) -> datetime:
    """UTC; instants outside what a datetime holds once in UTC (year 1 at +14:00) are clamped."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if value.year < 2 else datetime.max.replace(tzinfo=UTC)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "audit" or not number.isascii() or not number.isdigit() or len(number) > 18:
            raise ValueError(cursor)  # ids are bigints: 18 digits always fit
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this server returned") from None


def newest_first(filters: Filters, limit: int, cursor: str | None = None) -> Select[Any]:
    """One page, newest first; ask for ``limit + 1`` rows to learn whether another page follows."""
    stmt = select(table).where(*filters.clauses()).order_by(table.c.id.desc()).limit(limit)
    if cursor:
        stmt = stmt.where(table.c.id < decode_cursor(cursor))
    return stmt


def oldest_first(conn: Connection, filters: Filters, chunk: int = 1000) -> Iterator[RowMapping]:
    """Every matching entry in chain order, read in keyset chunks (for exports of any size)."""
    last_id = 0
    while True:
        stmt = select(table).where(*filters.clauses(), table.c.id > last_id).order_by(table.c.id).limit(chunk)
        rows = list(conn.execute(stmt).mappings())
        if not rows:
            return
        yield from rows
        last_id = rows[-1]["id"]


def to_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An entry as the API and the export show it (camelCase, as better-auth's JSON)."""
    return {
        "id": row["id"],
        "actorId": row["actor_id"],
        "action": row["action"],
        "resourceType": row["resource_type"],
        "resourceId": row["resource_id"],
        "details": row["details"],
        "organizationId": row["organization_id"],
        "ip": row["ip"],
        "userAgent": row["user_agent"],
        "requestId": row["request_id"],
        "createdAt": format_time(row["created_at"]),
        "prevHash": row["prev_hash"],
        "hash": row["hash"],
    }
