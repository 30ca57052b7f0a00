"""Signed checkpoints of the chain's head, kept outside the database.

The chain proves that nothing *inside* it was changed, not that its newest entries are all there:
deleting the tail leaves a valid, shorter chain. An anchor, taken regularly (``flask audit anchor``
from cron) and stored where the database's users cannot write (a file on another machine, a
write-once bucket, a ticketing system via a URL), names the head's sequence number and hash and the
time, with an HMAC under the audit key. ``verify --anchor`` then fails when the anchored entry is gone
(truncation) or differs (a rewrite of it or of anything before it, which changes every later hash).
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from app.modules.audit.chain import GENESIS, table
from app.modules.audit.keys import Keyring
from app.modules.audit.verify import PRUNE_ACTION

VERSION = 1
#: Separates anchor signatures from entry HMACs made with the same key.
DOMAIN = b"audit-anchor\n"
SIGNED_FIELDS = ("version", "sequence", "hash", "time", "key_id")


class InvalidAnchor(ValueError):
    """The anchor file is not an anchor (malformed, or its signature does not verify)."""


def _message(anchor: dict[str, Any]) -> bytes:
    payload = {name: anchor.get(name) for name in SIGNED_FIELDS}
    return DOMAIN + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def make_anchor(conn: Connection, keyring: Keyring) -> dict[str, Any]:
    """The signed checkpoint of the current head (sequence 0 and the genesis hash for an empty log)."""
    head = conn.execute(select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
    anchor: dict[str, Any] = {
        "version": VERSION,
        "sequence": int(head.id) if head else 0,
        "hash": head.hash if head else GENESIS,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "key_id": keyring.current_id,
    }
    anchor["signature"] = keyring.sign(keyring.current_id, _message(anchor))
    return anchor


def load_anchor(text: str, keyring: Keyring) -> dict[str, Any]:
    """Parse and authenticate an anchor; ``InvalidAnchor`` says why not."""
    try:
        anchor = json.loads(text)
    except ValueError:
        raise InvalidAnchor("the anchor is not JSON") from None
    if not isinstance(anchor, dict) or anchor.get("version") != VERSION:
        raise InvalidAnchor(f"the anchor is not a version {VERSION} audit anchor")
    if not isinstance(anchor.get("sequence"), int) or not isinstance(anchor.get("hash"), str):
        raise InvalidAnchor("the anchor has no sequence or hash")
    key_id, signature = anchor.get("key_id"), anchor.get("signature")
    if not isinstance(key_id, str) or not keyring.knows(key_id) or not isinstance(signature, str):
        raise InvalidAnchor(f"the anchor is signed with key id {key_id!r}, which is not configured")
    if not hmac.compare_digest(keyring.sign(key_id, _message(anchor)), signature):
        raise InvalidAnchor("the anchor's signature does not verify (forged or edited)")
    return anchor


def check_anchor(conn: Connection, anchor: dict[str, Any]) -> str | None:
    """None when the log still holds the anchored entry unchanged; else what is wrong."""
    sequence, expected = int(anchor["sequence"]), str(anchor["hash"])
    if sequence == 0:
        return None
    found = conn.execute(select(table.c.hash).where(table.c.id == sequence)).scalar()
    if found is not None:
        if not hmac.compare_digest(found, expected):
            return (f"entry {sequence} differs from the anchor of {anchor['time']}: "
                    "it or entries before it were rewritten")
        return None
    newest = conn.execute(select(func.max(table.c.id))).scalar()
    if newest is None or newest < sequence:
        return (f"the newest entries were removed: the anchor of {anchor['time']} names entry {sequence}, "
                f"the log ends at {newest or 'nothing'}")
    details = conn.execute(select(table.c.details).where(table.c.action == PRUNE_ACTION)).scalars()
    for detail in details:
        if isinstance(detail, dict) and detail.get("anchor_id") == sequence:
            if hmac.compare_digest(str(detail.get("anchor_hash")), expected):
                return None  # pruned by retention, and the prune recorded the same hash
            return f"entry {sequence} was pruned with another hash than the anchor of {anchor['time']}"
    oldest = conn.execute(select(func.min(table.c.id))).scalar()
    if oldest is not None and sequence < oldest:
        return f"entry {sequence} named by the anchor was pruned; it cannot be checked (take anchors more often)"
    return f"entry {sequence} named by the anchor of {anchor['time']} was removed"
