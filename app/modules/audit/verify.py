"""Walking the hash chain to name the first entry altered, removed or inserted.

The walk reads entries in ``id`` order and keeps one entry of look-ahead: a link that skips the
current entry means it was inserted; a link to nothing seen means entries were removed. The first
entry may follow ``GENESIS`` or the hash a prune recorded (``audit.pruned`` entries are in the chain,
so their anchors are tamper-evident too: a forged one fails its HMAC). Entries are checked with the
key their ``key_id`` names; legacy entries (no key id, plain SHA-256, written before keys) are
accepted only as the oldest part of the chain and only up to ``MODULES__AUDIT__LEGACY_UNTIL``, a
setting, not a row: a chain rewritten entirely as unkeyed entries would otherwise look like an old one.
Removing the newest entries leaves no trace in the chain itself: ``anchor.py`` checks against a
signed checkpoint kept elsewhere.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, select

from app.modules.audit.chain import GENESIS, entry_hash, iter_rows, table
from app.modules.audit.keys import Keyring

PRUNE_ACTION = "audit.pruned"


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a walk: ``problem`` is None when the chain is intact."""

    checked: int
    problem: str | None = None
    entry_id: int | None = None
    last_hash: str = GENESIS
    #: Entries from before keys (plain SHA-256) at the start of the chain.
    legacy: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def prune_anchors(conn: Connection) -> set[str]:
    """Hashes of pruned entries that a remaining first entry may link to."""
    details = conn.execute(select(table.c.details).where(table.c.action == PRUNE_ACTION)).scalars()
    return {d["anchor_hash"] for d in details if isinstance(d, dict) and isinstance(d.get("anchor_hash"), str)}


def _pairs(rows: Iterator[RowMapping]) -> Iterator[tuple[RowMapping, RowMapping | None]]:
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        yield current, following
        current = following


def _hash_problem(row: RowMapping, keyring: Keyring, keyed_seen: bool, legacy_until: int) -> str | None:
    cid = int(row["id"])
    key_id = row["key_id"]
    if key_id is None and keyed_seen:
        return f"entry {cid} is unkeyed after keyed entries (rewritten without the key)"
    if key_id is None and cid > legacy_until:
        return (f"entry {cid} is unkeyed (rewritten without the key?); only entries up to {legacy_until} "
                "(MODULES__AUDIT__LEGACY_UNTIL) were written before keys")
    if key_id is not None and not keyring.knows(key_id):
        return f"entry {cid} is signed with key id {key_id!r}, which is not configured (MODULES__AUDIT__PREVIOUS_KEYS)"
    if not hmac.compare_digest(entry_hash(row, row["prev_hash"], keyring), row["hash"]):
        return f"entry {cid} was altered (its hash does not match its content)"
    return None


def verify_chain(conn: Connection, keyring: Keyring, legacy_until: int = 0) -> VerifyResult:
    """Recompute every hash and link; stop at the first problem. Entries up to id ``legacy_until``
    may be unkeyed (from before keys)."""
    anchors = prune_anchors(conn) | {GENESIS}
    previous: RowMapping | None = None
    checked = legacy = 0
    for current, following in _pairs(iter_rows(conn)):
        cid = int(current["id"])
        problem = _hash_problem(current, keyring, checked > legacy, legacy_until)
        if problem:
            return VerifyResult(checked, problem, cid, legacy=legacy)
        legacy += current["key_id"] is None
        if previous is None:
            if current["prev_hash"] not in anchors:
                return VerifyResult(checked, f"entries were removed before entry {cid} (the first one)", cid)
        else:
            pid = int(previous["id"])
            skipped = following is not None and following["prev_hash"] == previous["hash"]
            if current["prev_hash"] != previous["hash"] or skipped:
                if following is not None and skipped:
                    return VerifyResult(checked, f"entry {cid} was inserted between {pid} and {following['id']}", cid)
                return VerifyResult(checked, f"entries were removed between entry {pid} and entry {cid}", cid)
        checked += 1
        previous = current
    return VerifyResult(checked, last_hash=previous["hash"] if previous else GENESIS, legacy=legacy)
