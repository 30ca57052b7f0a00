"""Pruning old entries without breaking the chain.

Only a prefix of the chain is ever deleted (everything before the oldest entry that must stay), and
the same transaction appends an ``audit.pruned`` entry recording the last deleted hash, so ``verify``
accepts the new first entry and still notices entries removed by anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from app.modules.audit.chain import append_locked, lock_chain, table
from app.modules.audit.entry import build_entry
from app.modules.audit.verify import PRUNE_ACTION


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    cutoff: datetime


def prune(engine: Engine, older_than_days: int, *, actor_id: str | None = None) -> PruneResult:
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
        deleted = conn.execute(delete(table).where(table.c.id < keep_from)).rowcount
        entry = build_entry(
            actor_id=actor_id,
            action=PRUNE_ACTION,
            resource_type="audit_log",
            details={
                "deleted": deleted,
                "cutoff": cutoff.isoformat(),
                "anchor_id": int(last.id),
                "anchor_hash": last.hash,
            },
        )
        append_locked(conn, [entry])
        conn.commit()
    return PruneResult(deleted, cutoff)
