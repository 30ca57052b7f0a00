"""better-auth's twoFactor plugin: TOTP (RFC 6238), backup codes, trusted devices.

Routes under ``/api/v1/auth/two-factor/*`` and a sign-in hook that turns a 2FA user's sign-in into
a challenge. Settings: ``AUTH__TWO_FACTOR__*`` (:class:`~.options.TwoFactorOptions`).
"""

from __future__ import annotations

from flask import Flask

from app.core.settings import section
from app.modules.auth.state import auth_state


def init_app(app: Flask) -> None:
    """Register the plugin's routes and its sign-in hook on the auth module."""
    # Imported for their effect: the routes join the auth blueprint.
    from app.modules.auth.two_factor import otp as otp
    from app.modules.auth.two_factor import routes as routes
    from app.modules.auth.two_factor.challenge import sign_in_hook
    from app.modules.auth.two_factor.options import TwoFactorOptions

    section(app, TwoFactorOptions)  # a wrong AUTH__TWO_FACTOR__* setting fails at start, not mid-request
    auth_state(app).sign_in_hooks.append(sign_in_hook)
