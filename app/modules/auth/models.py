"""better-auth's core tables: user, session, account, verification.

Column names are better-auth's own (camelCase), so a better-auth database can be migrated in; the
Python attributes are snake_case. Secrets never sit in clear: ``session.token`` holds the SHA-256 of
the session token, ``account.password`` an argon2id (or imported scrypt) hash, and verification
identifiers that carry a token hold its hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime, utcnow

__all__ = [
    "Account",
    "AuthCounter",
    "RevocationEpoch",
    "RevocationEvent",
    "Session",
    "UTCDateTime",
    "User",
    "Verification",
    "utcnow",
]


class User(Model):
    __tablename__ = "user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column("emailVerified", Boolean, default=False)
    image: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow, onupdate=utcnow)
    # admin plugin fields: role is a comma-separated list, as better-auth stores it
    role: Mapped[str | None] = mapped_column(String(255), default="user")
    banned: Mapped[bool | None] = mapped_column(Boolean, default=False)
    ban_reason: Mapped[str | None] = mapped_column("banReason", Text)
    ban_expires: Mapped[datetime | None] = mapped_column("banExpires", UTCDateTime)
    # twoFactor plugin field
    two_factor_enabled: Mapped[bool | None] = mapped_column("twoFactorEnabled", Boolean, default=False)
    # profile fields (better-auth additionalFields)
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    bio: Mapped[str | None] = mapped_column(Text)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    accounts: Mapped[list[Account]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in (self.role or "").split(",") if r.strip())

    def is_banned(self, now: datetime | None = None) -> bool:
        if not self.banned:
            return False
        return self.ban_expires is None or self.ban_expires > (now or utcnow())


class Session(Model):
    __tablename__ = "session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: SHA-256 (hex) of the session token; the token itself is never stored.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column("ipAddress", String(64))
    user_agent: Mapped[str | None] = mapped_column("userAgent", Text)
    impersonated_by: Mapped[str | None] = mapped_column("impersonatedBy", String(36))
    active_organization_id: Mapped[str | None] = mapped_column("activeOrganizationId", String(36))
    #: The organization plugin's active team (serialized only with teams enabled).
    active_team_id: Mapped[str | None] = mapped_column("activeTeamId", String(36))
    #: Set by rememberMe=false: the cookie dies with the browser and the session never slides.
    dont_remember: Mapped[bool] = mapped_column("dontRemember", Boolean, default=False)

    user: Mapped[User] = relationship(back_populates="sessions")


class Account(Model):
    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column("accountId", String(255))
    provider_id: Mapped[str] = mapped_column("providerId", String(64))
    user_id: Mapped[str] = mapped_column("userId", ForeignKey("user.id", ondelete="CASCADE"), index=True)
    access_token: Mapped[str | None] = mapped_column("accessToken", Text)
    refresh_token: Mapped[str | None] = mapped_column("refreshToken", Text)
    id_token: Mapped[str | None] = mapped_column("idToken", Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column("accessTokenExpiresAt", UTCDateTime)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column("refreshTokenExpiresAt", UTCDateTime)
    scope: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="accounts")


class Verification(Model):
    __tablename__ = "verification"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column("expiresAt", UTCDateTime)
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column("updatedAt", UTCDateTime, default=utcnow, onupdate=utcnow)


class RevocationEpoch(Model):
    """One row: the revocation sequence. Taking the next value locks the row until commit, so
    events commit in sequence order (see :mod:`app.modules.auth.revocation`)."""

    __tablename__ = "revocation_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class RevocationEvent(Model):
    """Something a cached session or an issued JWT may no longer answer for, at sequence ``seq``."""

    __tablename__ = "revocation_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(1))
    subject: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column("createdAt", UTCDateTime, default=utcnow, index=True)


class AuthCounter(Model):
    """A rate-limit or lockout counter when no Redis is configured (``counters_db.DatabaseStorage``).

    Keys are ``<ip>|<path>`` or keyed hashes (never an email); ``expires_at`` is a Unix time in seconds.
    """

    __tablename__ = "auth_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[float] = mapped_column("expiresAt", Float, index=True)
