"""better-auth's twoFactor plugin: TOTP (RFC 6238), backup codes, trusted devices.

Routes under ``/api/v1/auth/two-factor/*`` and a sign-in hook that turns a 2FA user's sign-in into
a challenge. Settings: ``AUTH__TWO_FACTOR__*`` (:class:`~.options.TwoFactorOptions`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

from app.modules.auth.models import User
from app.modules.auth.two_factor.models import TwoFactor


def _delete_rows_of_user(_mapper: Mapper[User], connection: Connection, target: User) -> None:
    """SQLite enforces no foreign keys here: a deleted user's 2FA row goes with them explicitly."""
    connection.execute(delete(TwoFactor).where(TwoFactor.user_id == target.id))


def init_app(app: Flask) -> None:
    """Register the plugin's routes and its sign-in hook on the auth module."""
    from app.modules.auth.two_factor import routes  # noqa: F401 - the routes join the auth blueprint
    from app.modules.auth.two_factor.challenge import sign_in_hook
    from app.modules.auth.two_factor.options import TwoFactorOptions

    TwoFactorOptions.for_app(app)  # a wrong AUTH__TWO_FACTOR__* setting fails at start, not mid-request
    app.extensions["auth.sign_in_hooks"].append(sign_in_hook)
    if not event.contains(User, "before_delete", _delete_rows_of_user):
        event.listen(User, "before_delete", _delete_rows_of_user)
