"""The auth blueprint: better-auth's core endpoints under ``/api/v1/auth``."""

from app.modules.auth.routes import (  # noqa: F401 - each registers its routes on the blueprint
    account,
    email_password,
    misc,
    provider_accounts,
    session_update,
    sessions,
    verification,
)
from app.modules.auth.routes.common import bp

__all__ = ["bp"]
