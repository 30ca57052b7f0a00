"""better-auth's ``passkey`` plugin (``@better-auth/passkey``): WebAuthn sign-in with py_webauthn.

Routes under ``/api/v1/auth/passkey/*`` and two admin routes, answering 404 unless
``AUTH__PASSKEY__ENABLED``; ``flask auth passkeys list|remove``. Settings:
:class:`~.settings.PasskeySettings`; the WebAuthn Level 3 sections followed are listed in
:mod:`.ceremony` and :mod:`.challenges`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.modules.auth import passwordless_cli  # noqa: F401 - flask auth purge-expired
    from app.modules.auth.passkey import admin, models, routes  # noqa: F401 - table, routes, CLI
    from app.modules.auth.passkey.settings import init_relying_party

    init_relying_party(app)
