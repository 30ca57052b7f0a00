"""better-auth's admin plugin: user management, bans, impersonation, roles; ``flask auth users``.

Routes under ``/api/v1/auth/admin/*``; statements and roles in :mod:`.access`
(``app.extensions["auth.admin.ac"]``); settings ``AUTH__ADMIN__*`` (:class:`~.options.AdminOptions`).
"""

from __future__ import annotations

from flask import Flask

from app.core.settings import section


def init_app(app: Flask) -> None:
    """Register the plugin's routes, its access control and the ``flask auth users`` commands."""
    # Imported for their effect: routes join the blueprint.
    from app.modules.auth.admin import routes_sessions as routes_sessions
    from app.modules.auth.admin import routes_users as routes_users
    from app.modules.auth.admin.access import init_access
    from app.modules.auth.admin.cli import users_cli
    from app.modules.auth.admin.options import AdminOptions
    from app.modules.auth.plugin_cli import register_plugin_cli

    section(app, AdminOptions)  # a wrong AUTH__ADMIN__* setting fails at start, not mid-request
    init_access(app)
    register_plugin_cli(app, users_cli)  # flask auth users
