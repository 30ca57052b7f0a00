"""``Authorization: Bearer <JWT>`` as a credential for application routes.

The core tries a bearer value as a session token first; a JWT (three dot-separated parts) never
resolves as one, so this resolver gets its turn. The token is verified in memory
(:mod:`app.modules.auth.jwt.tokens`): no database read. Like any stateless token, it stays valid
until ``exp`` (15 minutes by default) even if the session is revoked: keep the lifetime short.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request

from app.modules.auth.identity import AuthUser
from app.modules.auth.jwt.tokens import CLAIMS, verify_jwt
from app.modules.auth.serializers import iso

__all__ = ["resolve_jwt"]


def _bearer_jwt() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or value.count(".") != 2 or len(value) > 16_384:
        return None
    return value


def resolve_jwt() -> bool:
    token = _bearer_jwt()
    if token is None:
        return False
    payload = verify_jwt(token)
    if payload is None or not isinstance(payload.get("sub"), str):
        return False
    user = {k: v for k, v in payload.items() if k not in CLAIMS}
    user["id"] = payload["sub"]
    if user.get("banned"):
        return False
    g.user = AuthUser(user)
    g.session = {
        "id": None,
        "userId": payload["sub"],
        "expiresAt": iso(datetime.fromtimestamp(payload["exp"], UTC)),
        "createdAt": iso(datetime.fromtimestamp(payload["iat"], UTC)),
        "updatedAt": iso(datetime.fromtimestamp(payload["iat"], UTC)),
        "ipAddress": g.get("client_ip") or None,
        "userAgent": request.headers.get("User-Agent"),
        "impersonatedBy": None,
        "activeOrganizationId": None,
    }
    g.auth_source = "jwt"
    return True
