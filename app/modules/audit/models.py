"""The ``audit_log`` table: one row per audited action, chained by hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime

#: SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditLog(Model):
    """An audit entry; ``id`` orders the hash chain, ``hash`` covers every other field and ``prev_hash``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resource_type_resource_id", "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: Given when the entry is made (``log_async`` spools it first): a replay inserts it once.
    entry_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    actor_id: Mapped[str | None] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(128), index=True)
    resource_type: Mapped[str] = mapped_column(String(128))
    resource_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    organization_id: Mapped[str | None] = mapped_column(String(255), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: The id of the key whose HMAC is ``hash``; NULL for entries from before keys (plain SHA-256).
    key_id: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
