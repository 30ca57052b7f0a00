"""OpenID Connect federation (Keycloak): better-auth's genericOAuth / social sign-in protocol.

Public API:

- ``init_app(app)``: registers the routes (``routes.py``) and, when ``KEYCLOAK__ENABLED``, the
  provider in ``app.extensions["auth.oidc"]`` (a :class:`~.federation.Federation`).
- ``readiness(app) -> (ok, detail)``: whether the provider's discovery document answers, for
  ``/api/v1/readyz`` (``(True, "disabled")`` when federation is off).
- ``verify_id_token`` / ``JwksCache`` (``id_token.py``): ID token validation, usable on its own.
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.oidc.id_token import JwksCache, verify_id_token

__all__ = ["JwksCache", "init_app", "readiness", "verify_id_token"]

PROVIDER_ID = "keycloak"


def init_app(app: Flask) -> None:
    """Register the plugin's routes and the configured provider on the auth module."""
    from app.core.settings import section
    from app.modules.auth.oidc.settings import KeycloakSettings

    keycloak = section(app, KeycloakSettings)  # first: a wrong KEYCLOAK__* value stops the start

    # Imported for its effect: registers the routes on the auth blueprint.
    from app.modules.auth.oidc import routes as routes
    from app.modules.auth.oidc.client import ClientConfig
    from app.modules.auth.oidc.discovery import Discovery
    from app.modules.auth.oidc.federation import Federation

    if not keycloak.enabled:
        app.extensions["auth.oidc"] = None
        return
    scopes = tuple(dict.fromkeys(["openid", *str(keycloak.scopes).replace(",", " ").split()]))
    app.extensions["auth.oidc"] = Federation(
        provider_id=PROVIDER_ID,
        client=ClientConfig(
            client_id=str(keycloak.client_id), client_secret=str(keycloak.client_secret), scopes=scopes
        ),
        discovery=Discovery(str(keycloak.issuer), str(keycloak.public_url) if keycloak.public_url else None),
        map_roles=keycloak.map_roles,
        map_groups=keycloak.map_groups,
        provision_organizations=keycloak.provision_organizations,
    )


def readiness(app: Flask) -> tuple[bool, str]:
    """Ready when federation is off, or when the provider's discovery document can be fetched now."""
    from app.modules.auth.oidc.discovery import DiscoveryError
    from app.modules.auth.oidc.federation import Federation

    fed: Federation | None = app.extensions.get("auth.oidc")
    if fed is None:
        return True, "disabled"
    try:
        metadata = fed.discovery.fetch()
    except DiscoveryError as error:
        return False, str(error)
    return True, f"discovery ok: {metadata.issuer}"
