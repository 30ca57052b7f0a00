"""better-auth's jwt routes (``GET /token``, ``GET /jwks``) and the ``set-auth-jwt`` header."""

from __future__ import annotations

import logging
import time

from flask import Response, current_app
from flask.typing import ResponseReturnValue

from app.core.api import ApiModel, endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.modules.auth.jwt.keys import KeyUnreadableError, ensure_signing_key, jwk_json, published_keys
from app.modules.auth.jwt.settings import jwt_settings
from app.modules.auth.jwt.tokens import session_jwt
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard

log = logging.getLogger(__name__)

TAGS = ["JWT"]
_LOG_EVERY = 60.0


class TokenOut(ApiModel):
    token: str


class JwksOut(ApiModel):
    keys: list[dict[str, object]]


def _unreadable(error: KeyUnreadableError) -> ApiError:
    return ApiError(503, "JWKS_KEY_UNREADABLE", str(error))


def _log_unreadable(error: KeyUnreadableError) -> None:
    """Once a minute per process, not once per request."""
    last = current_app.extensions.get("auth.jwt.unreadable_logged", 0.0)
    if time.monotonic() - last >= _LOG_EVERY:
        current_app.extensions["auth.jwt.unreadable_logged"] = time.monotonic()
        log.error("%s", error)


@bp.get("/token")
@endpoint(summary="A JWT for the current session (signed with the newest JWKS key)", tags=TAGS,
          response=TokenOut, responses={401: "No session", 503: "Signing key unreadable"})
@session_guard
def token() -> ResponseReturnValue:
    resolved = require_session()
    try:
        return json_response({"token": session_jwt(resolved.user, session_id=resolved.session_id,
                                                   epoch=resolved.epoch)})
    except KeyUnreadableError as error:
        _log_unreadable(error)
        raise _unreadable(error) from None


@bp.get("/jwks")
@endpoint(summary="The JSON Web Key Set that verifies this server's JWTs", tags=TAGS, response=JwksOut)
def jwks() -> ResponseReturnValue:
    rows = published_keys()
    if not rows:
        ensure_signing_key()
        rows = published_keys()
    return json_response({"keys": [jwk_json(row) for row in rows]})


def set_jwt_header(response: Response) -> None:
    """get-session hook: ``set-auth-jwt`` for a real session (not an API key's, not a JWT's)."""
    resolved = current().resolved
    if resolved is None or response.status_code != 200 or not jwt_settings().set_header:
        return
    try:
        token = session_jwt(resolved.user, session_id=resolved.session_id, epoch=resolved.epoch)
    except KeyUnreadableError as error:
        _log_unreadable(error)  # get-session still answers; only the header is missing
        return
    response.headers["set-auth-jwt"] = token
    listed = response.headers.get("Access-Control-Expose-Headers")
    if not listed:  # the usual case: nothing exposed yet
        response.headers["Access-Control-Expose-Headers"] = "set-auth-jwt"
        return
    exposed = [h.strip() for h in listed.split(",") if h.strip()]
    if "set-auth-jwt" not in (h.lower() for h in exposed):
        exposed.append("set-auth-jwt")
    response.headers["Access-Control-Expose-Headers"] = ", ".join(exposed)
