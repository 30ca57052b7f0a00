"""The passwordless page: passkeys, magic links and email codes, for the plugins that are on.

Passkeys need the browser's WebAuthn API, so this page is the one that needs JavaScript
(``static/passwordless.js``, built from ``client/passwordless.mjs`` with the official clients).
"""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue

from app.web import bp
from app.web.context import auth_enabled, passwordless_enabled


@bp.get("/passwordless")
def passwordless() -> ResponseReturnValue:
    if not auth_enabled():
        abort(404)
    enabled = passwordless_enabled()
    if not any(enabled.values()):
        abort(404)
    return render_template("web/passwordless.html", **enabled)
