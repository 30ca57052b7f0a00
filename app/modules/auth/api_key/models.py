"""better-auth's ``apikey`` table (as ``api_key``): camelCase columns, the key stored only as its hash.

``key`` holds base64url(SHA-256(key)) without padding, exactly what better-auth stores, so rows
imported from a better-auth database keep authenticating. ``referenceId`` is the owning user's id,
or the organization's for keys whose ``configId`` is the organization configuration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.modules.auth.models import UTCDateTime, utcnow


class ApiKey(Model):
    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    config_id: Mapped[str] = mapped_column("configId", String(64), default="default", index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    start: Mapped[str | None] = mapped_column(String(64))
    reference_id: Mapped[str] = mapped_column("referenceId", String(36), index=True)
    prefix: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    refill_interval: Mapped[int | None] = mapped_column("refillInterval", BigInteger)  # ms
    refill_amount: Mapped[int | None] = mapped_column("refillAmount", Integer)
    last_refill_at: Mapped[datetime | None] = mapped_column("lastRefillAt", UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_enabled: Mapped[bool] = mapped_column("rateLimitEnabled", Boolean, default=True)
    rate_limit_time_window: Mapped[int | None] = mapped_column("rateLimitTimeWindow", BigInteger)  # ms
    rate_limit_max: Mapped[int | None] = mapped_column("rateLimitMax", Integer)
    request_count: Mapped[int] = mapped_column("requestCount", Integer, default=0)
    remaining: Mapped[int | None] = mapped_column(Integer)
    #: The quota's lease generation: Redis may spend only the units of this lease (:mod:`.usage`).
    quota_lease: Mapped[int] = mapped_column("quotaLease", Integer, default=0, server_default="0", nullable=False)
    last_request: Mapped[datetime | None] = mapped_column("lastRequest", UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt", UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow, onupdate=utcnow)
    #: JSON strings, as better-auth stores them.
    permissions: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[str | None] = mapped_column("metadata", Text)
