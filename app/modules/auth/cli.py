"""``flask auth ...``: operator commands of the auth module."""

from __future__ import annotations

from flask.cli import AppGroup

auth_cli = AppGroup("auth", help="Auth module commands.")
