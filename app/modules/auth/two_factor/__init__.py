"""better-auth's twoFactor plugin: TOTP, backup codes, trusted devices."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the plugin's routes and hooks on the auth module."""
