"""One pending email code per (type, address): only its keyed hash and its failed attempts are kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime, utcnow


class EmailOtp(Model):
    __tablename__ = "email_otp"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``<type>-otp-<email>``, better-auth's identifier.
    identifier: Mapped[str] = mapped_column(String(400), unique=True)
    #: HMAC-SHA256 of the code under the app secret (``passwordless.keyed_hash``).
    code_hash: Mapped[str] = mapped_column("codeHash", String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
