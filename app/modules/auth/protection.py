"""The checks every auth route passes before its handler: rate limit, then origin (CSRF).

Order matters: counting first means a flood of forged-origin requests is throttled too.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from app.modules.auth.client_ip import rate_limit_key_ip
from app.modules.auth.lockout import AccountLockout
from app.modules.auth.origin import TrustedOrigins, check_redirect_url, check_request_origin
from app.modules.auth.ratelimit import RateLimiter
from app.modules.auth.sign_in_guard import SignInGuard

#: better-auth's formCsrfMiddleware paths: sign-in and sign-up are checked even without cookies.
FORM_CSRF_PATHS = frozenset({"/api/v1/auth/sign-in/email", "/api/v1/auth/sign-up/email"})


def protect() -> None:
    from flask import g

    limiter: RateLimiter = current_app.extensions["auth.rate_limiter"]
    limiter.hit(request.path, rate_limit_key_ip(g.get("client_ip") or ""))
    trusted: TrustedOrigins = current_app.extensions["auth.trusted_origins"]
    form_csrf_paths: set[str] = current_app.extensions["auth.form_csrf_paths"]
    check_request_origin(request, trusted, form_csrf=request.path in form_csrf_paths)


def check_redirect(url: str | None, code: str) -> None:
    check_redirect_url(url, current_app.extensions["auth.trusted_origins"], code)


def init_protection(app: Flask) -> None:
    app.extensions["auth.rate_limiter"] = RateLimiter.for_app(app)
    app.extensions["auth.lockout"] = AccountLockout.for_app(app)
    SignInGuard.for_app(app)
    app.extensions["auth.trusted_origins"] = TrustedOrigins.for_app(app)
    app.extensions["auth.check_redirect"] = check_redirect
    #: Plugins add their sign-in paths (magic link, email OTP) to the login-CSRF checks.
    app.extensions["auth.form_csrf_paths"] = set(FORM_CSRF_PATHS)
