"""The checks every auth route passes before its handler: rate limit, then origin (CSRF).

Order matters: counting first means a flood of forged-origin requests is throttled too.
"""

from __future__ import annotations

from flask import Flask, request

from app.modules.auth.client_ip import rate_limit_key_ip
from app.modules.auth.origin import check_redirect_url, check_request_origin
from app.modules.auth.sign_in_guard import SignInGuard
from app.modules.auth.state import auth_state

#: better-auth's formCsrfMiddleware paths: sign-in and sign-up are checked even without cookies.
FORM_CSRF_PATHS = frozenset({"/api/v1/auth/sign-in/email", "/api/v1/auth/sign-up/email"})


def protect() -> None:
    from flask import g

    state = auth_state()
    state.rate_limiter.hit(request.path, rate_limit_key_ip(g.get("client_ip") or ""))
    check_request_origin(request, state.trusted_origins, form_csrf=request.path in state.form_csrf_paths)


def check_redirect(url: str | None, code: str) -> None:
    check_redirect_url(url, auth_state().trusted_origins, code)


def init_protection(app: Flask) -> None:
    """The limiters, trusted origins and login-CSRF paths are in ``AuthState`` (plugins add their
    sign-in paths, magic link and email OTP, to ``form_csrf_paths``); the sign-in guard is built here."""
    SignInGuard.for_app(app)
