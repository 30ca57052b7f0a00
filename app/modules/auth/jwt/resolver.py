"""``Authorization: Bearer <JWT>`` as a credential for application routes.

A JWT (three dot-separated parts) is verified in memory (:mod:`app.modules.auth.jwt.tokens`): no
database read. It dies with its session: a token whose session (``sid``) was revoked, or whose user
was banned or changed (role, password, profile) after it was issued (``rev``, the revocation
sequence of its data) is refused in every process, from the revocation events each process keeps
(:mod:`app.modules.auth.revocation`). ``AUTH__JWT__STATELESS=true`` turns that off: the token is
then valid until ``exp`` whatever happens, as in better-auth.

The user and session shapes built from a verified token are kept with it (per process, for as long
as :func:`~app.modules.auth.jwt.tokens.verify_jwt` remembers the token): a repeated token costs a
dictionary lookup and the revocation check, which is made on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, request

from app.core.identity import Identity
from app.core.outage import is_outage
from app.modules.auth.identity import AuthUser
from app.modules.auth.jwt.settings import jwt_settings
from app.modules.auth.jwt.tokens import CLAIMS, verify_jwt
from app.modules.auth.revocation import RevocationUnknown, catch_up, known_epoch, revocation_state
from app.modules.auth.serializers import iso

__all__ = ["resolve_jwt"]

_PREPARED = "auth.jwt.prepared"
#: How many tokens' user and session shapes a process keeps (the oldest goes first).
PREPARED_SIZE = 10_000


def _bearer_jwt() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or value.count(".") != 2 or len(value) > 16_384:
        return None
    return value


def _revoked(payload: dict[str, Any]) -> bool:
    """Was the token's session revoked or its user changed after it was issued? A token without
    ``rev`` (issued before the revocation sequence existed) counts as issued at sequence 0."""
    state = revocation_state()
    known_epoch()  # loads or polls when no listener keeps the state current
    if not state.loaded:
        raise RevocationUnknown("the revocation sequence could not be read")
    if state.undelivered():
        # A notification waits on this process's listener, not applied yet (its thread is slow or
        # hung): read the events from the database now, as the session caches do, rather than
        # answer from what this process knew before the revocation committed.
        try:
            catch_up(state)
        except Exception as error:
            if not is_outage(error):
                raise
            raise RevocationUnknown("the revocation sequence could not be read") from error
    sid = payload.get("sid")
    rev = payload.get("rev")
    epoch = rev if isinstance(rev, int) else 0
    return state.token_revoked(epoch, sid if isinstance(sid, str) else None, payload["sub"])


def _shapes(token: str, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user object and the session fields a token stands for, built once per token and process
    (kept only with the very payload ``verify_jwt`` answered, so never past its checks)."""
    prepared: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = (
        current_app.extensions.setdefault(_PREPARED, {}))
    held = prepared.get(token)
    if held is not None and held[0] is payload:
        return held[1], held[2]
    user = {k: v for k, v in payload.items() if k not in CLAIMS}
    user["id"] = payload["sub"]
    issued = iso(datetime.fromtimestamp(payload["iat"], UTC))
    session = {"id": None, "userId": payload["sub"], "expiresAt": iso(datetime.fromtimestamp(payload["exp"], UTC)),
               "createdAt": issued, "updatedAt": issued}
    if len(prepared) >= PREPARED_SIZE:
        try:
            prepared.pop(next(iter(prepared)), None)
        except (StopIteration, RuntimeError):  # another thread changed it meanwhile
            pass
    prepared[token] = (payload, user, session)
    return user, session


def resolve_jwt() -> Identity | None:
    """None unless the bearer is a JWT that verifies (then the bearer session token is tried)."""
    token = _bearer_jwt()
    if token is None:
        return None
    settings = jwt_settings()
    payload = verify_jwt(token, settings)
    if payload is None or not isinstance(payload.get("sub"), str):
        return None
    user, session = _shapes(token, payload)
    if user.get("banned"):
        return None
    if not settings.stateless and _revoked(payload):
        return None
    session = {
        **session,
        "ipAddress": g.get("client_ip") or None,
        "userAgent": request.headers.get("User-Agent"),
        "impersonatedBy": None,
        "activeOrganizationId": None,
    }
    return Identity(user=AuthUser(user), session=session, credential="jwt")
