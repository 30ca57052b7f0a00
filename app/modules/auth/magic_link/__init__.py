"""better-auth's ``magicLink`` plugin: single-use sign-in links by mail.

Routes ``POST /api/v1/auth/sign-in/magic-link`` and ``GET /api/v1/auth/magic-link/verify``, answering
404 unless ``AUTH__MAGIC_LINK__ENABLED``. Settings: :class:`~.settings.MagicLinkSettings`.
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state

PATHS = ("/sign-in/magic-link", "/magic-link/verify")


def init_app(app: Flask) -> None:
    from app.core.settings import section

    # Imported for its effect: the routes join the auth blueprint.
    from app.modules.auth.magic_link import routes as routes
    from app.modules.auth.magic_link.settings import MagicLinkSettings
    from app.modules.auth.passwordless import AddressLimiter
    from app.modules.auth.ratelimit import RateLimiter, Rule

    cfg = section(app, MagicLinkSettings)
    app.extensions["auth.magic_link.address_limiter"] = AddressLimiter(
        "magic-link", cfg.address_window, cfg.address_max
    )
    if not cfg.enabled:
        return
    RateLimiter.for_app(app).add_rule(PATHS, Rule(window=cfg.rate_limit_window, max=cfg.rate_limit_max))
    auth_state(app).form_csrf_paths.add("/api/v1/auth/sign-in/magic-link")
