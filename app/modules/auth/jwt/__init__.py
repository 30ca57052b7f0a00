"""better-auth's jwt plugin: JWTs for the session, and the JWKS with rotating keys."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
