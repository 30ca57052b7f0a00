"""OpenID Connect federation (Keycloak): better-auth's genericOAuth / social sign-in protocol."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
