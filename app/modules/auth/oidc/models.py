"""What the identity provider made: the memberships provisioned from its claims.

A row here marks a ``member`` row as the provider's: it is updated and removed as the provider's
claims change at each sign-in; a membership without a row (made in the app) is never touched.
The row goes with its membership (``ON DELETE CASCADE``), so a member removed in the app stays removed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime, utcnow


class ProvisionedMembership(Model):
    __tablename__ = "provisioned_membership"

    member_id: Mapped[str] = mapped_column("memberId", ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[str] = mapped_column("providerId", String(64))
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
