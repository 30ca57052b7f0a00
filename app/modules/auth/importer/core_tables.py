"""better-auth's core models → ours: user, account, session, verification.

- Passwords: better-auth's scrypt hashes are kept as they are; the sign-in route verifies them and
  replaces them with argon2id on the first successful sign-in (OWASP Password Storage Cheat Sheet,
  "Upgrading Legacy Hashes"). A re-run never puts a scrypt hash back over an upgraded one.
- OAuth tokens: opened with better-auth's secret when it encrypted them (``encryptOAuthTokens``),
  then sealed with ours; tokens stored in clear by better-auth are sealed as they are.
- Sessions: better-auth stores the token in clear, we store its SHA-256, so the
  ``better-auth.session_token`` cookies already out there (signed with the same secret) resolve.
  Expired sessions are skipped.
- Verifications: live password-reset tokens are carried over (hashed, as ours); other kinds are
  short-lived sign-in steps with no counterpart here, skipped with the reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import hash_token
from app.modules.auth.importer.secrets import DecryptionError, looks_encrypted
from app.modules.auth.importer.spec import Context, Converted, Refused, Sealed, Skipped, TableSpec
from app.modules.auth.importer.values import as_bool, as_datetime, as_text
from app.modules.auth.models import Account, Session, User, Verification
from app.modules.auth.passwords import is_scrypt_hash
from app.modules.auth.sessions import mark_stale

__all__ = ["CORE_TABLES"]

_ARGON2 = "$argon2"
_RESET = "reset-password:"
#: better-auth's other verification identifiers (prefixes), named in the skip reason.
_KINDS = ("2fa-attempts", "2fa", "trust-device", "auth-state", "delete-account", "email-verification-otp",
          "sign-in-otp", "forget-password-otp", "magic-link", "oauth")


def _stamps(row: dict[str, Any], ctx: Context) -> dict[str, Any]:
    created = as_datetime(row.get("createdAt")) or ctx.now
    return {"created_at": created, "updated_at": as_datetime(row.get("updatedAt")) or created}


def convert_user(row: dict[str, Any], ctx: Context) -> Converted:
    email = (as_text(row.get("email")) or "").strip().lower()
    if not email or "@" not in email:
        return Refused("no usable email address")
    out: dict[str, Any] = {
        "id": as_text(row["id"]),
        "name": as_text(row.get("name")) or "",
        "email": email,
        "email_verified": bool(as_bool(row.get("emailVerified"), False)),
        "image": as_text(row.get("image")),
        **_stamps(row, ctx),
        "role": as_text(row.get("role")) or "user",
        "banned": bool(as_bool(row.get("banned"), False)),
        "ban_reason": as_text(row.get("banReason")),
        "ban_expires": as_datetime(row.get("banExpires")),
        "two_factor_enabled": bool(as_bool(row.get("twoFactorEnabled"), False)),
    }
    for extra in ("firstname", "lastname", "bio"):  # our profile fields, when the source has them
        if extra in row:
            out[extra] = as_text(row[extra])
    return out


def _token(name: str, value: Any, ctx: Context) -> Sealed | Refused | None:
    text = as_text(value)
    if not text:
        return None
    if ctx.plain_oauth_tokens or not looks_encrypted(text):
        return Sealed(text)
    try:
        return Sealed(ctx.keys.decrypt(text))
    except DecryptionError as error:
        return Refused(f"{name} looks encrypted but does not decrypt with the given better-auth secret ({error})")


def convert_account(row: dict[str, Any], ctx: Context) -> Converted:
    provider = as_text(row.get("providerId"))
    if not provider or not row.get("accountId"):
        return Refused("no providerId or accountId")
    password = as_text(row.get("password"))
    if password and not (is_scrypt_hash(password) or password.startswith(_ARGON2)):
        return Refused("password hash in a format other than better-auth's scrypt (or argon2)")
    out: dict[str, Any] = {
        "id": as_text(row["id"]),
        "account_id": as_text(row["accountId"]),
        "provider_id": provider,
        "user_id": as_text(row.get("userId")),
        "access_token_expires_at": as_datetime(row.get("accessTokenExpiresAt")),
        "refresh_token_expires_at": as_datetime(row.get("refreshTokenExpiresAt")),
        "scope": as_text(row.get("scope")),
        "password": password,
        **_stamps(row, ctx),
    }
    for field, attr in (("accessToken", "access_token"), ("refreshToken", "refresh_token"), ("idToken", "id_token")):
        token = _token(field, row.get(field), ctx)
        if isinstance(token, Refused):
            return token
        out[attr] = token
    return out


def convert_session(row: dict[str, Any], ctx: Context) -> Converted:
    token = as_text(row.get("token"))
    expires = as_datetime(row.get("expiresAt"))
    if expires is None or expires <= ctx.now:
        return Skipped("expired")
    if not token:
        return Refused("no token")
    return {
        "id": as_text(row["id"]),
        "token": hash_token(token),
        "user_id": as_text(row.get("userId")),
        "expires_at": expires,
        **_stamps(row, ctx),
        "ip_address": as_text(row.get("ipAddress")),
        "user_agent": as_text(row.get("userAgent")),
        "impersonated_by": as_text(row.get("impersonatedBy")),
        "active_organization_id": as_text(row.get("activeOrganizationId")),
        "active_team_id": as_text(row.get("activeTeamId")),
    }


def convert_verification(row: dict[str, Any], ctx: Context) -> Converted:
    identifier = as_text(row.get("identifier")) or ""
    expires = as_datetime(row.get("expiresAt"))
    if expires is None or expires <= ctx.now:
        return Skipped("expired")
    if not identifier.startswith(_RESET):
        kind = next((k for k in _KINDS if identifier.startswith(k)), "other (or hashed identifiers)")
        return Skipped(f"{kind} verifications are short-lived sign-in steps with no counterpart here")
    return {
        "id": as_text(row["id"]),
        "identifier": _RESET + hash_token(identifier[len(_RESET):]),
        "value": as_text(row.get("value")) or "",
        "expires_at": expires,
        **_stamps(row, ctx),
    }


def users_changed(rows: list[dict[str, Any]]) -> None:
    """A re-run changed users (a ban, a role): their sessions cached in Redis are stale now."""
    ids = [r["id"] for r in rows]
    mark_stale(list(db.session.scalars(select(Session.token).where(Session.user_id.in_(ids)))))


def sessions_changed(rows: list[dict[str, Any]]) -> None:
    mark_stale([r["token"] for r in rows])


CORE_TABLES = (
    TableSpec("user", User, convert_user, unique=(("email",),), on_update=users_changed),
    TableSpec("account", Account, convert_account, references=(("user_id", ("user",)),)),
    TableSpec("session", Session, convert_session, references=(("user_id", ("user",)),), unique=(("token",),),
              on_update=sessions_changed),
    TableSpec("verification", Verification, convert_verification),
)
