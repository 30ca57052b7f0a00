"""better-auth's jwt plugin: JWTs for the session, and the JWKS with rotating keys.

Public API: ``sign_session_jwt(user)``, ``verify_jwt(token)`` (``tokens``); ``rotate``,
``ensure_signing_key`` (``keys``); settings ``AUTH__JWT__*`` (``settings``).
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.state import auth_state

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register ``/token``, ``/jwks``, the get-session header, the JWT bearer resolver, ``flask jwks``."""
    from app.modules.auth.jwt import models, routes  # noqa: F401 - table in the metadata; routes on the blueprint
    from app.modules.auth.jwt.cli import jwks_cli
    from app.modules.auth.jwt.resolver import resolve_jwt
    from app.modules.auth.jwt.settings import load_settings

    load_settings(app)
    auth_state(app).credential_resolvers["jwt"] = resolve_jwt
    auth_state(app).get_session_hooks.append(routes.set_jwt_header)
    app.cli.add_command(jwks_cli)
