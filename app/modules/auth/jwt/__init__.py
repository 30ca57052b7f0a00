"""better-auth's jwt plugin: JWTs for the session, and the JWKS with rotating keys.

Public API: ``sign_session_jwt(user)``, ``verify_jwt(token)`` (``tokens``); ``rotate``,
``ensure_signing_key`` (``keys``); settings ``AUTH__JWT__*`` (``settings``).
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register ``/token``, ``/jwks``, the get-session header, the JWT bearer resolver, ``flask auth jwks``."""
    from app.core.settings import section

    # Imported for their effect: table in the metadata; routes on the blueprint.
    from app.modules.auth.jwt import models as models
    from app.modules.auth.jwt import routes as routes
    from app.modules.auth.jwt.cli import jwks_cli
    from app.modules.auth.jwt.resolver import resolve_jwt
    from app.modules.auth.jwt.settings import JwtSettings
    from app.modules.auth.plugin_cli import register_plugin_cli

    section(app, JwtSettings)
    auth_state(app).credential_resolvers["jwt"] = resolve_jwt
    auth_state(app).get_session_hooks.append(routes.set_jwt_header)
    register_plugin_cli(app, jwks_cli)  # flask auth jwks
