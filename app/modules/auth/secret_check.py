"""Does the configured ``AUTH__SECRET`` open what is stored? Two checks of ``flask auth check``.

Everything the auth module encrypts at rest (OWASP Cryptographic Storage Cheat Sheet) is
XChaCha20-Poly1305 under a key derived from the secret (``crypto.symmetric_encrypt``): the JWKS
private keys, TOTP secrets, better-auth's legacy encrypted backup codes and the identity
provider's OAuth tokens. Under another secret the AEAD tag does not authenticate: a server
started with the wrong secret answers ``/token`` with 503 and refuses every 2FA code. These checks
find that before the users do, and name the table, the column and how many rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import DecryptionError, symmetric_decrypt
from app.modules.auth.jwt.keys import KeyUnreadableError, private_jwk
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.models import Account, utcnow
from app.modules.auth.two_factor.models import TwoFactor

#: Rows read per round trip: the checks stream whole tables.
BATCH = 500


class SecretMismatch(Exception):
    """Stored data does not decrypt with the configured secret; the message says which."""


@dataclass
class _Tally:
    column: str
    checked: int = 0
    unreadable: int = 0

    def text(self) -> str:
        return f"{self.column}: {self.unreadable} of {self.checked} rows"


def _opens(value: str, secret: str) -> bool:
    try:
        symmetric_decrypt(value, secret)
    except DecryptionError:
        return False
    return True


def _tally(column: str, values: Iterable[str | None], secret: str, *, skip_plain: bool = False) -> _Tally:
    tally = _Tally(column)
    for value in values:
        if not value or (skip_plain and value.startswith("[")):  # hashed backup codes: nothing encrypted
            continue
        tally.checked += 1
        tally.unreadable += not _opens(value, secret)
    return tally


def _column(column: Any) -> Iterable[str | None]:
    yield from db.session.scalars(select(column).execution_options(yield_per=BATCH))


def check_signing_keys(app: Flask) -> str:
    """Every key that still signs must open: a retired one only verifies, with its public half."""
    now = utcnow()
    live, retired_unreadable = [], 0
    with app.app_context():
        for row in db.session.scalars(select(Jwks).execution_options(yield_per=BATCH)):
            signs = row.expires_at is None or row.expires_at > now
            try:
                private_jwk(row)
            except KeyUnreadableError:
                if signs:
                    live.append(row.id)
                else:
                    retired_unreadable += 1
        db.session.remove()
    if live:
        raise SecretMismatch(
            f"jwks.privateKey of the signing key {', '.join(live)} does not decrypt with the configured "
            "AUTH__SECRET (written under another secret?); `flask auth jwks rotate` makes a signing key under this one"
        )
    note = f"; {retired_unreadable} retired key(s) under another secret (public halves only)" * bool(retired_unreadable)
    return f"every signing key decrypts with the configured AUTH__SECRET{note}"


def check_encrypted_columns(app: Flask) -> str:
    """Each encrypted column, every row: how many do not open with the configured secret."""
    secret: str = app.config["SETTINGS"].auth.secret
    with app.app_context():
        tallies = [
            _tally("two_factor.secret", _column(TwoFactor.secret), secret),
            _tally("two_factor.backupCodes", _column(TwoFactor.backup_codes), secret, skip_plain=True),
            _tally("account.accessToken", _column(Account.access_token), secret),
            _tally("account.refreshToken", _column(Account.refresh_token), secret),
            _tally("account.idToken", _column(Account.id_token), secret),
        ]
        db.session.remove()
    bad = [t for t in tallies if t.unreadable]
    if bad:
        raise SecretMismatch(
            f"{'; '.join(t.text() for t in bad)} do not decrypt with the configured AUTH__SECRET "
            "(written under another secret?)"
        )
    return f"{sum(t.checked for t in tallies)} encrypted values in {len(tallies)} columns decrypt with AUTH__SECRET"
