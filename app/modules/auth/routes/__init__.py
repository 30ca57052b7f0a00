"""The auth blueprint: better-auth's core endpoints under ``/api/v1/auth``."""

from app.modules.auth.routes import account, email_password, misc, sessions, verification  # noqa: F401
from app.modules.auth.routes.common import bp

__all__ = ["bp"]
