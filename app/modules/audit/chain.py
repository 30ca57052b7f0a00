"""The hash chain: appending entries under a lock, and walking the chain to find tampering.

Each entry stores ``prev_hash`` (the hash of the entry before it, by ``id``) and ``hash``, the
HMAC-SHA256 (under the key named by its ``key_id``, see ``keys.py``) of a canonical JSON of its
fields, its id, its key id and ``prev_hash``. Entries written before keys existed (``key_id`` NULL)
carry a plain SHA-256 of the same JSON without id and key id ("legacy"). Appending reads the last hash and
inserts in one transaction that holds the chain's lock: ``pg_advisory_xact_lock`` on PostgreSQL,
``BEGIN IMMEDIATE`` (the single writer) on SQLite, so writers in several processes never fork it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select

from app.modules.audit.entry import new_entry_id
from app.modules.audit.keys import Keyring
from app.modules.audit.models import AuditLog

#: ``prev_hash`` of the very first entry.
GENESIS = "0" * 64
#: The advisory lock that serializes appends on PostgreSQL ("audit" in ASCII).
ADVISORY_LOCK_KEY = 0x6175646974
#: Fields covered by the hash, besides ``prev_hash``.
HASHED_FIELDS = (
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "details",
    "organization_id",
    "ip",
    "user_agent",
    "request_id",
    "created_at",
)

table = AuditLog.__table__


def format_time(value: datetime) -> str:
    """The canonical text of a timestamp: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: Mapping[Any, Any], prev_hash: str, keyring: Keyring | None = None) -> str:
    """The entry's hash after ``prev_hash``: HMAC-SHA256 under its ``key_id``'s key, over the canonical
    JSON (sorted keys, no spaces) of its fields, ``entry_id``, ``key_id`` and ``prev_hash``; a legacy
    entry (no ``key_id``) has the plain SHA-256 of its fields and ``prev_hash``.

    Raises ``KeyError`` when the key id is not in ``keyring``.
    """
    payload = {name: entry.get(name) for name in HASHED_FIELDS}
    payload["created_at"] = format_time(entry["created_at"])
    payload["prev_hash"] = prev_hash
    key_id = entry.get("key_id")
    if key_id is not None:
        payload["entry_id"] = entry.get("entry_id")
        payload["key_id"] = key_id
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if key_id is None:
        return hashlib.sha256(canonical).hexdigest()
    if keyring is None or not keyring.knows(key_id):
        raise KeyError(key_id)
    return keyring.sign(key_id, canonical)


def lock_chain(conn: Connection) -> None:
    """Start the transaction holding the chain's lock; released by commit or rollback."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:  # pragma: no cover - the project supports SQLite and PostgreSQL only
        raise RuntimeError(f"the audit chain does not support {conn.dialect.name}")


def last_hash(conn: Connection) -> str:
    found = conn.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar()
    return found or GENESIS


def chain_rows(entries: Sequence[Mapping[str, Any]], prev_hash: str, keyring: Keyring) -> list[dict[str, Any]]:
    """The rows to insert for ``entries`` following ``prev_hash``, each signed with the current key
    and linked to the one before."""
    rows = []
    for entry in entries:
        row = {
            **{name: entry.get(name) for name in HASHED_FIELDS},
            "entry_id": entry.get("entry_id") or new_entry_id(),
            "key_id": keyring.current_id,
            "prev_hash": prev_hash,
        }
        digest = entry_hash(row, prev_hash, keyring)
        row["hash"] = digest
        rows.append(row)
        prev_hash = digest
    return rows


def not_yet_written(conn: Connection, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``entries`` without those whose id is already in the table: a replay writes each once.

    Safe because it runs under the chain's lock, which every writer takes before inserting.
    """
    ids = [entry["entry_id"] for entry in entries if entry.get("entry_id")]
    if not ids:
        return list(entries)
    found = set(conn.execute(select(table.c.entry_id).where(table.c.entry_id.in_(ids))).scalars())
    seen: set[str] = set()
    fresh = []
    for entry in entries:
        entry_id = entry.get("entry_id")
        if entry_id in found or entry_id in seen:
            continue
        if entry_id:
            seen.add(entry_id)
        fresh.append(entry)
    return fresh


def append_locked(conn: Connection, entries: Sequence[Mapping[str, Any]], keyring: Keyring) -> int:
    """Append inside a transaction that already holds the chain's lock; the number inserted."""
    fresh = not_yet_written(conn, entries)
    if fresh:
        conn.execute(insert(table), chain_rows(fresh, last_hash(conn), keyring))
    return len(fresh)


def append(engine: Engine, entries: Sequence[Mapping[str, Any]], keyring: Keyring) -> int:
    """Append ``entries`` (those not written yet) in one transaction; errors surface to the caller."""
    if not entries:
        return 0
    with engine.connect() as conn:
        lock_chain(conn)
        written = append_locked(conn, entries, keyring)
        conn.commit()
    return written


def iter_rows(conn: Connection, chunk: int = 1000) -> Iterator[RowMapping]:
    """Every entry in chain order, read in keyset chunks so memory stays flat."""
    last_id = 0
    while True:
        rows = conn.execute(select(table).where(table.c.id > last_id).order_by(table.c.id).limit(chunk)).mappings()
        batch = list(rows)
        if not batch:
            return
        yield from batch
        last_id = batch[-1]["id"]

