"""better-auth's apiKey plugin (@better-auth/api-key): keys that authenticate requests."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
