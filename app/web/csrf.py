"""CSRF protection of the pages (Flask-WTF), and only of the pages.

``CSRFProtect`` is installed with its default check off: the JSON API has its own defence
(better-auth's Origin check) and its clients send no form token. Every POST to this blueprint is
checked before its view runs (OWASP CSRF Prevention Cheat Sheet: synchronizer token pattern); the
token lives in the server-side Flask session.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect

from app.web import bp

csrf = CSRFProtect()


def init_csrf(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the page session
    csrf.init_app(app)


@bp.before_request
def _check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """A refused form in plain words (a stale tab, cookies blocked, or a forged request)."""
    return render_template(
        "web/error.html",
        heading="This form has expired",
        message="Nothing was changed. Go back, reload the page and send the form again. "
        "If this keeps happening, allow cookies for this site.",
    ), 400
