"""The ``two_factor`` table: one row per user who set up (or is setting up) TOTP.

As better-auth's ``twoFactor`` model, with two differences that make it safer: backup codes are
stored as SHA-256 hashes (better-auth encrypts them, so the server key reveals them all), and
``lastUsedStep`` remembers the last accepted TOTP time step, so a code is accepted once
(RFC 6238 §5.2). The TOTP secret is encrypted at rest (XChaCha20-Poly1305, better-auth's format).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class TwoFactor(Model):
    __tablename__ = "two_factor"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``symmetric_encrypt`` of the raw secret (or of ``base32:<secret>`` for imported ones).
    secret: Mapped[str] = mapped_column(Text)
    #: JSON array of SHA-256 hex digests of the unused backup codes.
    backup_codes: Mapped[str] = mapped_column("backupCodes", Text)
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), unique=True, index=True)
    #: False while setup is pending (enable called, first code not yet verified).
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The TOTP time step (Unix time // period) of the last accepted code.
    last_used_step: Mapped[int | None] = mapped_column("lastUsedStep", BigInteger)
