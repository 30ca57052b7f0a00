"""The example module's table: projects, one set per tenant (organization).

Migration ``example_0001_project`` (this folder), behind the tenant module's row-level security."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.modules.auth.models import UTCDateTime, utcnow

# The organization table is the tenant column's foreign-key target: it must be in the metadata.
from app.modules.auth.organization import models as models
from app.modules.tenant import TenantScoped


class Project(TenantScoped, Model):
    __tablename__ = "project"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column("createdBy", String(36))
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow, onupdate=utcnow)
