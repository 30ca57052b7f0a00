"""What every page shares: the signed-in user, which areas are on, the sign-in requirement, and
the one rule for where a sign-in may send the browser afterwards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.core.identity import current
from app.web import bp

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def auth_enabled() -> bool:
    enabled: bool = current_app.config["SETTINGS"].modules.auth
    return enabled


def keycloak_enabled() -> bool:
    return bool(current_app.config["SETTINGS"].modules.auth and current_app.extensions.get("auth.oidc"))


def passwordless_enabled() -> dict[str, bool]:
    """Which passwordless plugins are on (passkey, magic_link, email_otp)."""
    from app.core.settings import Section, loaded
    from app.modules.auth.email_otp.settings import EmailOtpSettings
    from app.modules.auth.magic_link.settings import MagicLinkSettings
    from app.modules.auth.passkey.settings import PasskeySettings

    models: dict[str, type[Section]] = {
        "passkey": PasskeySettings, "magic_link": MagicLinkSettings, "email_otp": EmailOtpSettings,
    }
    return {name: bool(getattr(loaded(current_app, model), "enabled", False)) for name, model in models.items()}


def signed_in_user() -> Any:
    """The signed-in user (``AuthUser``), or None when anonymous or when the auth module is off."""
    if not auth_enabled():
        return None
    from flask_login import current_user

    return current_user if current_user.is_authenticated else None


def current_session() -> Any:
    """The better-auth session behind the request (``ResolvedSession``) or None."""
    if not auth_enabled():
        return None
    from app.modules.auth.identity import resolve_identity

    return resolve_identity()


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to return to after sign-in, else ``default``.

    Only a local absolute path is accepted: no scheme, no host, no ``//`` or ``/\\`` (browsers read
    both as another host), no control characters (OWASP Unvalidated Redirects and Forwards).
    """
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def requires_auth_module(view: F) -> F:
    """404 when the auth module is off: its pages do not exist then."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not auth_enabled():
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def login_required(view: F) -> F:
    """Flask-Login's rule for pages: anonymous visitors go to sign-in, which brings them back here.

    A session that is not a cookie session (an API key, a bearer token) does not count: pages are
    for browsers, and their forms are protected by the CSRF token bound to the cookie session.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        from flask_login import current_user

        if not auth_enabled():
            abort(404)
        if not current_user.is_authenticated or current().credential != "cookie":
            target = request.full_path.rstrip("?") if request.method == "GET" else request.path
            return redirect(url_for("web.sign_in", next=safe_next(target)))
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.context_processor
def _globals() -> dict[str, Any]:
    session = current_session() if auth_enabled() else None
    impersonated = bool(session is not None and session.session.get("impersonatedBy"))
    user = signed_in_user()
    admin = False
    if user is not None:
        from app.modules.auth.admin.access import has_permission

        admin = has_permission(user.id, user.json.get("role"), {"user": ["list"]})
    return {
        "is_admin": admin,
        "audit_enabled": bool(current_app.config["SETTINGS"].modules.audit),
        "auth_enabled": auth_enabled(),
        "keycloak_enabled": keycloak_enabled(),
        "passwordless_enabled": auth_enabled() and any(passwordless_enabled().values()),
        "passkeys_enabled": auth_enabled() and passwordless_enabled()["passkey"],
        "user": user,
        "impersonating": impersonated,
        "app_name": current_app.config["SETTINGS"].auth.app_name,
    }
