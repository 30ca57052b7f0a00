"""better-auth's admin plugin: user management, bans, impersonation, roles."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
