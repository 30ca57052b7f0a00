"""Server-rendered pages: the home page and the sign-in and sign-up forms.

The forms post JSON to the auth API with ``fetch`` from a static script (``static/auth.js``), so
the pages run under a strict ``Content-Security-Policy``: no inline script or style at all.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")

#: Scripts, styles and requests from this origin only; nothing inline, no framing, no plugins.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def _auth_enabled() -> bool:
    enabled: bool = current_app.config["SETTINGS"].modules.auth
    return enabled


def _signed_in_user() -> Any:
    """The signed-in user (``AuthUser``), or None when anonymous or when the auth module is off."""
    if not _auth_enabled():
        return None
    from flask_login import current_user

    return current_user if current_user.is_authenticated else None


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        # The page shows who is signed in: never from a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("index.html", auth_enabled=_auth_enabled(), user=_signed_in_user())


@bp.get("/sign-in")
def sign_in() -> ResponseReturnValue:
    if not _auth_enabled():
        abort(404)
    return render_template("sign_in.html")


@bp.get("/sign-up")
def sign_up() -> ResponseReturnValue:
    if not _auth_enabled():
        abort(404)
    return render_template("sign_up.html")


@bp.get("/passwordless")
def passwordless() -> ResponseReturnValue:
    """Passkey, magic-link and email-code sign-in, and passkey management, for the plugins that are on."""
    if not _auth_enabled():
        abort(404)
    extensions = current_app.extensions
    enabled = {
        name: bool(getattr(extensions.get(f"auth.{name}.settings"), "enabled", False))
        for name in ("passkey", "magic_link", "email_otp")
    }
    if not any(enabled.values()):
        abort(404)
    return render_template("passwordless.html", **enabled)
