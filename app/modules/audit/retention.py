"""Pruning old entries without breaking the chain.

Only a prefix of the chain is ever deleted (everything before the oldest entry that must stay), and
the same transaction appends an ``audit.pruned`` entry, signed like every entry, recording the last
deleted entry's id and hash: that hash is the new genesis, so ``verify`` accepts the new first entry
and still notices entries removed by anyone else.

On PostgreSQL in least-privilege mode the app's role may not DELETE from ``audit_log``: the prune
goes through ``audit_prune()``, a ``SECURITY DEFINER`` function created by the migration, which
deletes the prefix only when the ``audit.pruned`` entry it is given describes exactly that prune and
follows the current head, and only entries older than a day (OWASP Logging Cheat Sheet: protect
logs from deletion; the app cannot remove recent history even through the function).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, text

from app.modules.audit.chain import append_locked, chain_rows, format_time, last_hash, lock_chain, table
from app.modules.audit.entry import build_entry
from app.modules.audit.keys import Keyring
from app.modules.audit.verify import PRUNE_ACTION

#: The function of the least-privilege mode (migration audit_0003_keyed).
PRUNE_FUNCTION = "audit_prune(bigint,timestamp with time zone,jsonb)"


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    cutoff: datetime


def _has_prune_function(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(select(func.to_regprocedure(PRUNE_FUNCTION))).scalar() is not None


def prune(
    engine: Engine, older_than_days: int, keyring: Keyring, *, actor_id: str | None = None
) -> PruneResult:
    """Delete entries older than ``older_than_days`` days (up to the first younger one) and record it."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with engine.connect() as conn:
        lock_chain(conn)
        keep_from = conn.execute(select(func.min(table.c.id)).where(table.c.created_at >= cutoff)).scalar()
        if keep_from is None:
            keep_from = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        last = conn.execute(
            select(table.c.id, table.c.hash).where(table.c.id < keep_from).order_by(table.c.id.desc()).limit(1)
        ).first()
        if last is None:
            conn.rollback()
            return PruneResult(0, cutoff)
        count = int(conn.execute(select(func.count()).select_from(table).where(table.c.id < keep_from)).scalar() or 0)
        entry = build_entry(
            actor_id=actor_id,
            action=PRUNE_ACTION,
            resource_type="audit_log",
            details={
                "deleted": count, "cutoff": cutoff.isoformat(), "anchor_id": int(last.id), "anchor_hash": last.hash,
            },
        )
        if _has_prune_function(conn):
            row = chain_rows([entry], last_hash(conn), keyring)[0]
            payload = {**row, "created_at": format_time(row["created_at"])}
            deleted = conn.execute(
                text("SELECT audit_prune(:keep_from, :cutoff, CAST(:pruned AS jsonb))"),
                {"keep_from": keep_from, "cutoff": cutoff, "pruned": json.dumps(payload)},
            ).scalar_one()
        else:
            deleted = conn.execute(delete(table).where(table.c.id < keep_from)).rowcount
            append_locked(conn, [entry], keyring)
        conn.commit()
    return PruneResult(int(deleted), cutoff)
