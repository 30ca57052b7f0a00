"""better-auth's ``emailOTP`` plugin: one-time codes by mail for sign-in, verification and reset.

Routes under ``/api/v1/auth`` (``email-otp/*``, ``sign-in/email-otp``, ``forget-password/email-otp``),
answering 404 unless ``AUTH__EMAIL_OTP__ENABLED``. Settings: :class:`~.settings.EmailOtpSettings`.
Codes: :mod:`~.codes` (hashed at rest, consumed by one statement).
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state

PATHS = (
    "/email-otp/send-verification-otp",
    "/email-otp/check-verification-otp",
    "/email-otp/verify-email",
    "/sign-in/email-otp",
    "/email-otp/request-password-reset",
    "/email-otp/reset-password",
    "/forget-password/email-otp",
    "/email-otp/request-email-change",
    "/email-otp/change-email",
)


def init_app(app: Flask) -> None:
    from app.core.settings import section

    # Imported for their effect: table and routes.
    from app.modules.auth.email_otp import models as models
    from app.modules.auth.email_otp import routes as routes
    from app.modules.auth.email_otp.settings import EmailOtpSettings
    from app.modules.auth.passwordless import AddressLimiter
    from app.modules.auth.ratelimit import RateLimiter, Rule

    cfg = section(app, EmailOtpSettings)
    app.extensions["auth.email_otp.address_limiter"] = AddressLimiter("email-otp", cfg.address_window, cfg.address_max)
    if not cfg.enabled:
        return
    # better-auth's plugin rules: 3 per 60 s on every route of the plugin, per client.
    RateLimiter.for_app(app).add_rule(PATHS, Rule(window=cfg.rate_limit_window, max=cfg.rate_limit_max))
    auth_state(app).form_csrf_paths.update(
        {"/api/v1/auth/email-otp/send-verification-otp", "/api/v1/auth/sign-in/email-otp"}
    )
