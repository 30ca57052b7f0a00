"""Security headers on every answer, HTML pages and error pages included.

OWASP HTTP Headers Cheat Sheet (OWASP Secure Headers Project): every response gets
``X-Content-Type-Options: nosniff``; every HTML response also gets a ``Content-Security-Policy``
(nothing but same-origin scripts, styles and requests, no framing: ``frame-ancestors 'none'``,
CSP Level 2), ``X-Frame-Options: DENY`` for browsers without CSP frame-ancestors (RFC 7034) and
``Referrer-Policy: same-origin``. A page that needs a looser policy (the Scalar reference) sets its
own header and these defaults leave it alone. Registered on the app, so werkzeug's HTML error pages
and the auth module's error page get them too.
"""

from __future__ import annotations

from flask import Flask, Response

__all__ = ["DEFAULT_CSP", "init_security_headers"]

#: Scripts, styles, images and requests from this origin only; nothing inline, no framing, no plugins.
DEFAULT_CSP = "; ".join(
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


def _apply(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_security_headers(app: Flask) -> None:
    app.after_request(_apply)
