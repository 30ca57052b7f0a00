"""better-auth's ``magicLink`` routes: ``POST /sign-in/magic-link`` and ``GET /magic-link/verify``.

- The link's token (32 letters, 190 bits) is stored only as its SHA-256, in ``verification`` under
  ``magic-link:<hash>``; following the link deletes that row in one statement (``DELETE ...
  RETURNING``), so exactly one request signs in with it (OWASP Forgot Password Cheat Sheet: single
  use, short expiry, hashed at rest).
- ``callbackURL``, ``newUserCallbackURL`` and ``errorCallbackURL`` must be relative paths or on a
  trusted origin, at both ends (OWASP Unvalidated Redirects and Forwards Cheat Sheet): never an
  open redirect.
- Same answer for every address (OWASP Authentication Cheat Sheet): with sign-up disabled, an
  unknown address simply gets no mail.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from flask import current_app, redirect
from flask.typing import ResponseReturnValue
from sqlalchemy import delete
from werkzeug.wrappers import Response

from app.core.api import endpoint
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.crypto import generate_id, generate_random_string, hash_token
from app.modules.auth.emails import magic_link_email
from app.modules.auth.magic_link import schemas as s
from app.modules.auth.magic_link.settings import MagicLinkSettings
from app.modules.auth.models import Verification, utcnow
from app.modules.auth.passwordless import (
    create_verified_user,
    prove_email_ownership,
    require_enabled,
    sign_in,
    user_by_email,
)
from app.modules.auth.routes.common import bp, json_response, settings, user_body, with_session_cookie
from app.modules.auth.routes.verification import send_auth_mail
from app.modules.auth.serializers import session_json
from app.modules.auth.state import auth_state

TAGS = ["Magic link"]
PREFIX = "magic-link:"
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _cfg() -> MagicLinkSettings:
    cfg = require_enabled(MagicLinkSettings)
    return cfg


def _check_urls(callback: str | None, new_user: str | None, error: str | None) -> None:
    check = auth_state().check_redirect
    check(callback, "INVALID_CALLBACK_URL")
    check(new_user, "INVALID_NEW_USER_CALLBACK_URL")
    check(error, "INVALID_ERROR_CALLBACK_URL")


def _verify_url(token: str, body: s.SignInMagicLinkBody) -> str:
    params = {
        "token": token,
        "callbackURL": body.callback_url or "/",
        "newUserCallbackURL": body.new_user_callback_url,
        "errorCallbackURL": body.error_callback_url,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{settings().base_url}/api/v1/auth/magic-link/verify?{query}"


@bp.post("/sign-in/magic-link")
@endpoint(
    summary="Mail a single-use sign-in link (same answer for every address)",
    tags=TAGS,
    body=s.SignInMagicLinkBody,
    response=s.StatusOut,
    responses={403: "Untrusted callback URL", 429: "Too many links from this client"},
)
def sign_in_magic_link(body: s.SignInMagicLinkBody) -> ResponseReturnValue:
    cfg = _cfg()
    _check_urls(body.callback_url, body.new_user_callback_url, body.error_callback_url)
    limiter = current_app.extensions["auth.magic_link.address_limiter"]
    if not limiter.hit(body.email):  # over the address's limit: the same answer, and no mail
        return json_response({"status": True})
    if cfg.disable_sign_up and user_by_email(body.email) is None:
        return json_response({"status": True})
    token = generate_random_string(32, LETTERS)
    now = utcnow()
    db.session.add(
        Verification(
            id=generate_id(),
            identifier=PREFIX + hash_token(token),
            value=json.dumps({"type": "magic-link", "email": body.email, "name": body.name}),
            expires_at=now + timedelta(seconds=cfg.expires_in),
            created_at=now,
            updated_at=now,
        )
    )
    db.session.commit()
    send_auth_mail(magic_link_email(body.email, _verify_url(token, body), max(1, cfg.expires_in // 60)))
    audit_logger.log_async(
        actor_id=None, action="auth.magic_link.sent", resource_type="user", details={"email": body.email}
    )
    return json_response({"status": True})


def _absolute(url: str) -> str:
    base: str = settings().base_url
    return urljoin(base + "/", url)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _consume(token: str) -> dict[str, Any] | None:
    """The link's record, deleted by this request, or None (unknown, used, or expired)."""
    if not token or len(token) > 256:
        return None
    identifier = PREFIX + hash_token(token)
    row = db.session.execute(
        delete(Verification)
        .where(Verification.identifier == identifier)
        .returning(Verification.value, Verification.expires_at)
    ).first()
    db.session.commit()
    if row is None or row[1] <= utcnow():
        return None
    try:
        record: dict[str, Any] = json.loads(row[0])
    except ValueError:
        return None
    return record if record.get("type") == "magic-link" and record.get("email") else None


@bp.get("/magic-link/verify")
@endpoint(
    summary="Follow a magic link: signs in and redirects to callbackURL (JSON without one)",
    tags=TAGS,
    query=s.MagicLinkVerifyQuery,
    response=s.MagicLinkSessionOut,
    responses={302: "Redirect to callbackURL (errors: errorCallbackURL?error=...)", 403: "Untrusted URL"},
)
def magic_link_verify(query: s.MagicLinkVerifyQuery) -> ResponseReturnValue:
    cfg = _cfg()
    _check_urls(query.callback_url, query.new_user_callback_url, query.error_callback_url)
    callback = _absolute(query.callback_url or "/")
    error_target = _absolute(query.error_callback_url) if query.error_callback_url else callback

    def fail(error: str) -> Response:
        audit_logger.log_async(
            actor_id=None, action="auth.magic_link.failure", resource_type="user", details={"error": error}
        )
        return redirect(_with_query(error_target, error=error), code=302)

    record = _consume(query.token)
    if record is None:
        return fail("INVALID_TOKEN")
    email = str(record["email"])
    user = user_by_email(email)
    is_new = False
    if user is None:
        if cfg.disable_sign_up:
            return fail("new_user_signup_disabled")
        user, is_new = create_verified_user(email, record.get("name"))
        if is_new:
            audit_logger.log_async(
                actor_id=user.id,
                action="user.sign_up",
                resource_type="user",
                resource_id=user.id,
                details={"method": "magic-link"},
            )
    else:
        prove_email_ownership(user)
    if user.is_banned():
        db.session.commit()
        return fail("BANNED_USER")
    done = sign_in(user, method="magic-link")
    if done.challenge is not None:  # two-factor: the pending cookie rides on the redirect
        if not query.callback_url:
            return done.challenge
        response = redirect(_with_query(callback, twoFactorRedirect="true"), code=302)
        for header in done.challenge.headers.getlist("Set-Cookie"):
            response.headers.add("Set-Cookie", header)
        return response
    assert done.token is not None and done.session is not None
    if not query.callback_url:
        body = {"token": done.token, "user": user_body(user), "session": session_json(done.session, done.token)}
        answer: Response = json_response(body)
    else:
        target = _absolute(query.new_user_callback_url) if is_new and query.new_user_callback_url else callback
        answer = redirect(target, code=302)
    return with_session_cookie(answer, done.token, dont_remember=False)
