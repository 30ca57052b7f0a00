"""better-auth's organization plugin: organizations, members, invitations, access control.

Routes under ``/api/v1/auth/organization/*`` (better-auth 1.7.25's shapes and codes); the roles and
statements are the application's, in :mod:`app.access_control`. Public functions for other plugins
and modules: :mod:`app.modules.auth.organization.service`.
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
    from app.modules.auth.organization import (  # noqa: F401 - the routes attach to the auth blueprint
        invitation_routes,
        member_routes,
        models,
        org_routes,
    )
    from app.modules.auth.organization.context import (
        default_organization_column,
        default_organization_context,
        member_permission_check,
    )
    from app.modules.auth.organization.settings import load_organization_settings

    app.extensions["auth.organization.settings"] = load_organization_settings(app)
    auth_state(app).context_hooks.append(default_organization_context)
    auth_state(app).session_columns["defaultOrganizationId"] = default_organization_column
    auth_state(app).member_permission_check = member_permission_check
