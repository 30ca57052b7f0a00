"""better-auth's ``passkey`` plugin (``@better-auth/passkey``): WebAuthn sign-in with py_webauthn.

Routes under ``/api/v1/auth/passkey/*`` and two admin routes, answering 404 unless
``AUTH__PASSKEY__ENABLED``; ``flask auth passkeys list|remove``. Settings:
:class:`~.settings.PasskeySettings`; the WebAuthn Level 3 sections followed are listed in
:mod:`.ceremony` and :mod:`.challenges`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Imported for its effect: flask auth purge-expired.
    from app.modules.auth import passwordless_cli as passwordless_cli

    # Imported for their effect: table, routes, CLI.
    from app.modules.auth.passkey import admin as admin
    from app.modules.auth.passkey import models as models
    from app.modules.auth.passkey import routes as routes
    from app.modules.auth.passkey.settings import init_relying_party

    init_relying_party(app)
