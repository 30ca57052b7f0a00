"""better-auth's organization tables: organization, member, invitation, team, teamMember (camelCase columns).

Better than better-auth: ``member`` has a unique index on (organizationId, userId). It makes the
permission check one index lookup whatever the organization's size, and two racing accepts cannot
make a user a member twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.modules.auth.models import UTCDateTime, utcnow


class Organization(Model):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    logo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    #: A JSON object, stored as text as better-auth does.
    metadata_json: Mapped[str | None] = mapped_column("metadata", Text)


class Member(Model):
    __tablename__ = "member"
    __table_args__ = (Index("ix_member_organizationId_userId", "organizationId", "userId", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        "organizationId", ForeignKey("organization.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: Comma-separated role names, e.g. ``"admin,member"``.
    role: Mapped[str] = mapped_column(String(255), default="member")
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)


class Invitation(Model):
    __tablename__ = "invitation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        "organizationId", ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str | None] = mapped_column(String(255))
    team_id: Mapped[str | None] = mapped_column("teamId", String(255))
    #: pending | accepted | rejected | canceled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    inviter_id: Mapped[str] = mapped_column("inviterId", ForeignKey("user.id", ondelete="CASCADE"))


class Team(Model):
    """A team inside an organization (better-auth ``teams.enabled``)."""

    __tablename__ = "team"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[str] = mapped_column(
        "organizationId", ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    #: None until first updated for a default team, as better-auth writes it.
    updated_at: Mapped[datetime | None] = mapped_column("updatedAt", UTCDateTime)


class TeamMember(Model):
    """A user in a team. Unique on (teamId, userId): two racing adds cannot add a user twice
    (better-auth's ``membershipKey`` column, as an index)."""

    __tablename__ = "teamMember"
    __table_args__ = (Index("ix_teamMember_teamId_userId", "teamId", "userId", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[str] = mapped_column("teamId", ForeignKey("team.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
