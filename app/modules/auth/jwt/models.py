"""better-auth's ``jwks`` table: one signing key pair per row, the private half encrypted.

``publicKey`` is the public JWK as JSON; ``privateKey`` is, as better-auth writes it, the JSON
string of ``symmetric_encrypt(private JWK JSON, secret)``. ``id`` is the ``kid``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.modules.auth.models import UTCDateTime, utcnow


class Jwks(Model):
    __tablename__ = "jwks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    public_key: Mapped[str] = mapped_column("publicKey", Text)
    private_key: Mapped[str] = mapped_column("privateKey", Text)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    #: When the key stops signing; it stays published until ``expiresAt + grace period``.
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt", UTCDateTime)
    alg: Mapped[str | None] = mapped_column(String(16))
    crv: Mapped[str | None] = mapped_column(String(16))
