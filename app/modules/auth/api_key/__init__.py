"""better-auth's apiKey plugin (@better-auth/api-key 1.7.5): keys that authenticate requests.

Public API: ``verify_api_key(key, permissions=None)``, ``create_api_key``, ``update_api_key``,
``delete_expired_api_keys`` (``service``); settings ``AUTH__API_KEY__*`` (``settings``).
"""

from __future__ import annotations

from flask import Flask

from app.modules.auth.api_key.service import (
    KeyFields,
    create_api_key,
    delete_expired_api_keys,
    update_api_key,
    verify_api_key,
)
from app.modules.auth.state import auth_state

__all__ = ["KeyFields", "create_api_key", "delete_expired_api_keys", "init_app", "update_api_key", "verify_api_key"]


def init_app(app: Flask) -> None:
    """Register the routes, the ``x-api-key`` resolver, the key permission check and ``flask auth keys``."""
    from app.core.settings import section

    # Imported for their effect: the table belongs to the metadata, the routes register on the auth blueprint.
    from app.modules.auth.api_key import models as models
    from app.modules.auth.api_key import routes as routes
    from app.modules.auth.api_key.cli import keys_cli
    from app.modules.auth.api_key.resolver import key_permission_check, organization_context_hook, resolve_api_key
    from app.modules.auth.api_key.settings import ApiKeySettings
    from app.modules.auth.plugin_cli import register_plugin_cli

    settings = section(app, ApiKeySettings)
    app.extensions.setdefault("cors.extra_headers", []).extend(settings.headers)  # browsers may send them
    auth_state(app).credential_resolvers["api-key"] = resolve_api_key
    auth_state(app).context_hooks.append(organization_context_hook)
    auth_state(app).key_permission_check = key_permission_check
    register_plugin_cli(app, keys_cli)  # flask auth keys
