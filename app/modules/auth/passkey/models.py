"""better-auth's ``passkey`` table (``@better-auth/passkey`` schema), column for column.

``publicKey`` is the credential's COSE public key in standard base64, ``credentialID`` its
base64url id, as better-auth stores them, so rows move between the two servers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime, utcnow


class Passkey(Model):
    __tablename__ = "passkey"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column("publicKey", Text)
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column("credentialID", String(1400), unique=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)
    #: ``singleDevice`` or ``multiDevice`` (the BE flag at registration, WebAuthn L3 §6.1.3).
    device_type: Mapped[str] = mapped_column("deviceType", String(32))
    #: The BS flag of the latest ceremony.
    backed_up: Mapped[bool] = mapped_column("backedUp", Boolean, default=False)
    transports: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    aaguid: Mapped[str | None] = mapped_column(String(36))
