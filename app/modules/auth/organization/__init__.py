"""better-auth's organization plugin: organizations, members, invitations, access control.

Routes under ``/api/v1/auth/organization/*`` (better-auth 1.7.25's shapes and codes; teams with
``AUTH__ORGANIZATION__TEAMS__ENABLED``, :mod:`.team_routes`); the roles and statements are in
:mod:`.roles` (the application and modules extend them). Public functions for other plugins
and modules: :mod:`app.modules.auth.organization.service`.
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
    from app.core.settings import section

    # Imported for their effect: the routes attach to the auth blueprint.
    from app.modules.auth.organization import invitation_routes as invitation_routes
    from app.modules.auth.organization import member_routes as member_routes
    from app.modules.auth.organization import models as models
    from app.modules.auth.organization import org_routes as org_routes
    from app.modules.auth.organization import team_routes as team_routes
    from app.modules.auth.organization.context import (
        default_organization_column,
        default_organization_context,
        member_permission_check,
    )
    from app.modules.auth.organization.settings import OrganizationSettings, TeamSettings
    from app.modules.auth.serializers import SESSION_ACTIVE_TEAM

    section(app, OrganizationSettings)  # a wrong AUTH__ORGANIZATION__* value stops the start
    app.extensions[SESSION_ACTIVE_TEAM] = section(app, TeamSettings).enabled
    auth_state(app).context_hooks.append(default_organization_context)
    auth_state(app).session_columns["defaultOrganizationId"] = default_organization_column
    auth_state(app).member_permission_check = member_permission_check
