"""better-auth's organization plugin: organizations, members, invitations, access control."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
