"""better-auth's plugin models → ours: twoFactor, organization, member, invitation, apikey, jwks.

- twoFactor: the TOTP secret is opened with better-auth's secret and sealed with ours; the backup
  codes (encrypted JSON, or plain with ``storeBackupCodes: "plain"``) become our SHA-256 digests,
  so each still works once. Codes consumed here since the first import stay consumed.
- apikey: the stored hash is better-auth's ``base64url(SHA-256(key))``, which ours verifies as it
  is; usage counters and limits are kept.
- jwks: the private JWK is opened and sealed with our secret; ids (``kid``) and public keys are
  kept, so JWTs issued by better-auth verify against our ``/jwks``.
- team, teamMember: as they are (better-auth's internal ``memberCount`` and ``membershipKey`` are
  not kept: our unique (teamId, userId) index does their work).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.importer.secrets import DecryptionError
from app.modules.auth.importer.spec import Context, Converted, Refused, Sealed, TableSpec
from app.modules.auth.importer.values import as_bool, as_datetime, as_int, as_text
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.organization.models import Invitation, Member, Organization, Team, TeamMember
from app.modules.auth.two_factor import backup_codes
from app.modules.auth.two_factor.models import TwoFactor

__all__ = ["PLUGIN_TABLES"]


def _created(row: dict[str, Any], ctx: Context) -> Any:
    return as_datetime(row.get("createdAt")) or ctx.now


def convert_two_factor(row: dict[str, Any], ctx: Context) -> Converted:
    try:
        secret = ctx.keys.decrypt(as_text(row.get("secret")) or "")
    except DecryptionError as error:
        return Refused(f"TOTP secret does not decrypt with the given better-auth secret ({error})")
    stored = as_text(row.get("backupCodes")) or "[]"
    try:
        plain = stored if stored.lstrip().startswith("[") else ctx.keys.decrypt(stored)
        codes = json.loads(plain)
    except DecryptionError as error:
        return Refused(f"backup codes do not decrypt with the given better-auth secret ({error})")
    except ValueError:
        return Refused("backup codes are not a JSON list")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        return Refused("backup codes are not a JSON list of strings")
    return {
        "id": as_text(row["id"]),
        "secret": Sealed(secret),
        "backup_codes": backup_codes.encode(codes),
        "user_id": as_text(row.get("userId")),
        "verified": bool(as_bool(row.get("verified"), True)),
    }


def keep_consumed_codes(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Codes used here since the first import stay used: our digests ⊆ theirs means only consumption."""
    try:
        ours, theirs = set(json.loads(existing.get("backup_codes") or "[]")), set(json.loads(new["backup_codes"]))
    except (TypeError, ValueError):
        return new
    return {**new, "backup_codes": existing["backup_codes"]} if ours <= theirs else new


def convert_organization(row: dict[str, Any], ctx: Context) -> Converted:
    name, slug = as_text(row.get("name")), as_text(row.get("slug"))
    if not name or not slug:
        return Refused("no name or slug")
    metadata = row.get("metadata")
    return {
        "id": as_text(row["id"]),
        "name": name,
        "slug": slug,
        "logo": as_text(row.get("logo")),
        "created_at": _created(row, ctx),
        "metadata_json": json.dumps(metadata) if isinstance(metadata, dict | list) else as_text(metadata),
    }


def convert_member(row: dict[str, Any], ctx: Context) -> Converted:
    return {
        "id": as_text(row["id"]),
        "organization_id": as_text(row.get("organizationId")),
        "user_id": as_text(row.get("userId")),
        "role": as_text(row.get("role")) or "member",
        "created_at": _created(row, ctx),
    }


def convert_invitation(row: dict[str, Any], ctx: Context) -> Converted:
    email = (as_text(row.get("email")) or "").strip().lower()
    expires = as_datetime(row.get("expiresAt"))
    if not email or expires is None:
        return Refused("no email or expiry")
    return {
        "id": as_text(row["id"]),
        "organization_id": as_text(row.get("organizationId")),
        "email": email,
        "role": as_text(row.get("role")),
        "team_id": as_text(row.get("teamId")),
        "status": as_text(row.get("status")) or "pending",
        "expires_at": expires,
        "created_at": _created(row, ctx),
        "inviter_id": as_text(row.get("inviterId")),
    }


def convert_team(row: dict[str, Any], ctx: Context) -> Converted:
    name = as_text(row.get("name"))
    if not name:
        return Refused("no name")
    return {
        "id": as_text(row["id"]),
        "name": name,
        "organization_id": as_text(row.get("organizationId")),
        "created_at": _created(row, ctx),
        "updated_at": as_datetime(row.get("updatedAt")),
    }


def convert_team_member(row: dict[str, Any], ctx: Context) -> Converted:
    return {
        "id": as_text(row["id"]),
        "team_id": as_text(row.get("teamId")),
        "user_id": as_text(row.get("userId")),
        "created_at": _created(row, ctx),
    }


def keep_answered_invitation(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """An invitation answered here (accepted, rejected, canceled) does not become pending again."""
    if existing.get("status") != "pending" and new.get("status") == "pending":
        return {**new, "status": existing.get("status")}
    return new


def _json_text(value: Any) -> str | None:
    return json.dumps(value) if isinstance(value, dict | list) else as_text(value)


def end_quota_leases(rows: list[dict[str, Any]]) -> None:
    """A re-imported key's ``remaining`` is its count: the units of a live quota lease in Redis
    belonged to the count it replaces (:mod:`app.modules.auth.api_key.quota`). Bumped in SQL, so a
    lease a live server takes meanwhile ends as well."""
    ids = [row["id"] for row in rows if row.get("remaining") is not None]
    if ids:
        db.session.execute(update(ApiKey).where(ApiKey.id.in_(ids)).values(quota_lease=ApiKey.quota_lease + 1))


def convert_api_key(row: dict[str, Any], ctx: Context) -> Converted:
    key = as_text(row.get("key"))
    owner = as_text(row.get("referenceId") or row.get("userId"))  # userId before better-auth 1.7
    if not key or not owner:
        return Refused("no key hash or owner")
    created = _created(row, ctx)
    return {
        "id": as_text(row["id"]),
        "config_id": as_text(row.get("configId")) or "default",
        "name": as_text(row.get("name")),
        "start": as_text(row.get("start")),
        "reference_id": owner,
        "prefix": as_text(row.get("prefix")),
        "key": key,
        "refill_interval": as_int(row.get("refillInterval")),
        "refill_amount": as_int(row.get("refillAmount")),
        "last_refill_at": as_datetime(row.get("lastRefillAt")),
        "enabled": bool(as_bool(row.get("enabled"), True)),
        "rate_limit_enabled": bool(as_bool(row.get("rateLimitEnabled"), True)),
        "rate_limit_time_window": as_int(row.get("rateLimitTimeWindow")),
        "rate_limit_max": as_int(row.get("rateLimitMax")),
        "request_count": as_int(row.get("requestCount")) or 0,
        "remaining": as_int(row.get("remaining")),
        "last_request": as_datetime(row.get("lastRequest")),
        "expires_at": as_datetime(row.get("expiresAt")),
        "created_at": created,
        "updated_at": as_datetime(row.get("updatedAt")) or created,
        "permissions": _json_text(row.get("permissions")),
        "meta": _json_text(row.get("metadata")),
    }


def convert_jwks(row: dict[str, Any], ctx: Context) -> Converted:
    public = as_text(row.get("publicKey"))
    stored = as_text(row.get("privateKey"))
    if not public or not stored:
        return Refused("no public or private key")
    try:
        value = json.loads(stored)
        plain = ctx.keys.decrypt(value) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if not isinstance(json.loads(plain), dict):
            raise ValueError("not a JWK")
    except DecryptionError as error:
        return Refused(f"private key does not decrypt with the given better-auth secret ({error})")
    except ValueError:
        return Refused("private key is not a (JSON-quoted, encrypted) JWK")
    return {
        "id": as_text(row["id"]),
        "public_key": public,
        "private_key": Sealed(plain, as_json=True),
        "created_at": _created(row, ctx),
        "expires_at": as_datetime(row.get("expiresAt")),
        "alg": as_text(row.get("alg")) or "EdDSA",
        "crv": as_text(row.get("crv")) or (None if row.get("alg") not in (None, "EdDSA") else "Ed25519"),
    }


PLUGIN_TABLES = (
    TableSpec("twoFactor", TwoFactor, convert_two_factor, references=(("user_id", ("user",)),),
              unique=(("user_id",),), keep=keep_consumed_codes),
    TableSpec("organization", Organization, convert_organization, unique=(("slug",),)),
    TableSpec("member", Member, convert_member,
              references=(("organization_id", ("organization",)), ("user_id", ("user",))),
              unique=(("organization_id", "user_id"),)),
    TableSpec("invitation", Invitation, convert_invitation,
              references=(("organization_id", ("organization",)), ("inviter_id", ("user",))),
              keep=keep_answered_invitation),
    TableSpec("team", Team, convert_team, references=(("organization_id", ("organization",)),)),
    TableSpec("teamMember", TeamMember, convert_team_member,
              references=(("team_id", ("team",)), ("user_id", ("user",))), unique=(("team_id", "user_id"),)),
    TableSpec("apikey", ApiKey, convert_api_key, references=(("reference_id", ("user", "organization")),),
              unique=(("key",),), on_update=end_quota_leases),
    TableSpec("jwks", Jwks, convert_jwks),
)
