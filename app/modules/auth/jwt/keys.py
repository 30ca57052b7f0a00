"""The JWKS: signing key pairs in the database, private halves encrypted with the secret.

- Keys: Ed25519 (RFC 8037, default), ECDSA P-256 (RFC 7518 §3.4) or RSA-2048 PKCS#1 v1.5
  (RFC 7518 §3.3), published as JWKs (RFC 7517) with ``kid`` = row id.
- At rest the private JWK is encrypted with XChaCha20-Poly1305 under the secret, in
  better-auth's exact format (``JSON.stringify(symmetricEncrypt(...))``), so keys move both ways
  between a better-auth database and this one (OWASP Cryptographic Storage Cheat Sheet: keys
  encrypted at rest).
- Rotation (NIST SP 800-57 Pt 1 §5.3: limited cryptoperiod): a key signs until ``expiresAt``
  (rotation interval, or ``flask auth jwks rotate``), then stays published for the grace period so
  tokens it signed still verify. Minting a key takes a database lock and re-checks under it, so
  processes racing to rotate end with exactly one new key.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from sqlalchemy import or_, select, text, update

from app.extensions import db
from app.modules.auth.crypto import DecryptionError, generate_id, symmetric_decrypt, symmetric_encrypt
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.jwt.settings import jwt_settings
from app.modules.auth.models import utcnow

__all__ = [
    "KeyUnreadableError",
    "current_kid",
    "ensure_signing_key",
    "jwk_json",
    "private_jwk",
    "published_keys",
    "rotate",
]

_ADVISORY_LOCK_ID = 0x6A776B73  # "jwks"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


class KeyUnreadableError(RuntimeError):
    """The stored private key does not decrypt with the current secret."""

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"the JWT signing key {kid} cannot be decrypted with the current AUTH__SECRET (was the secret "
            "changed?); run `flask auth jwks rotate` to create a signing key under this secret: tokens stay "
            "verifiable with the old public keys until their grace period ends"
        )
        self.kid = kid


def _secret() -> str:
    secret: str = current_app.config["SETTINGS"].auth.secret
    return secret


def _clean(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k not in ("key_ops", "alg", "use")}


def _generate(alg: str) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(public JWK, private JWK, crv) for a new key pair of ``alg``."""
    key: Key
    if alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519")
    elif alg == "ES256":
        key = ECKey.generate_key("P-256")
    elif alg == "RS256":
        key = RSAKey.generate_key(2048)
    else:
        raise ValueError(f"unsupported JWT algorithm {alg!r}")
    private = _clean(dict(key.as_dict(private=True)))
    public = {k: v for k, v in private.items() if k not in _PRIVATE_MEMBERS}
    return public, private, private.get("crv")


def _new_row(now: datetime) -> Jwks:
    settings = jwt_settings()
    public, private, crv = _generate(settings.alg)
    encrypted = symmetric_encrypt(json.dumps(private, separators=(",", ":")), _secret())
    interval = settings.rotation_interval
    return Jwks(
        id=generate_id(32),
        public_key=json.dumps(public, separators=(",", ":")),
        private_key=json.dumps(encrypted),
        created_at=now,
        expires_at=now + timedelta(seconds=interval) if interval else None,
        alg=settings.alg,
        crv=crv,
    )


def private_jwk(row: Jwks) -> dict[str, Any]:
    """The decrypted private JWK; ``KeyUnreadableError`` when the secret does not open it."""
    try:
        stored = json.loads(row.private_key)
        plain = json.loads(symmetric_decrypt(stored, _secret())) if isinstance(stored, str) else stored
    except (DecryptionError, ValueError, TypeError):
        raise KeyUnreadableError(row.id) from None
    if not isinstance(plain, dict):
        raise KeyUnreadableError(row.id)
    return plain


def _lock() -> None:
    """Serialise key minting across processes, until the transaction ends."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    else:  # SQLite: any write statement takes the database's single writer lock
        db.session.execute(update(Jwks).where(text("1 = 0")).values(alg=Jwks.alg))


def _live(now: datetime) -> Any:
    return or_(Jwks.expires_at.is_(None), Jwks.expires_at > now)


def _newest_live(now: datetime) -> Jwks | None:
    row: Jwks | None = db.session.scalar(
        select(Jwks).where(_live(now)).order_by(Jwks.created_at.desc(), Jwks.id.desc()).limit(1)
    )
    return row


def current_kid() -> str | None:
    row = _newest_live(utcnow())
    return row.id if row is not None else None


def ensure_signing_key() -> Jwks:
    """The key that signs now: the newest live one, minted (once, under the lock) when none is."""
    now = utcnow()
    row = _newest_live(now)
    if row is not None:
        return row
    _lock()
    row = _newest_live(now)
    if row is None:
        row = _new_row(now)
        db.session.add(row)
    db.session.commit()
    return row


def rotate(expected_kid: str | None) -> Jwks | None:
    """Retire the signing key ``expected_kid`` for a new one; None when someone rotated first."""
    now = utcnow()
    _lock()
    current = _newest_live(now)
    if (current.id if current is not None else None) != expected_kid:
        db.session.commit()
        return None
    db.session.execute(update(Jwks).where(_live(now)).values(expires_at=now))
    row = _new_row(now)
    db.session.add(row)
    db.session.commit()
    return row


def published_keys(now: datetime | None = None) -> list[Jwks]:
    """Keys in ``/jwks``: live ones, and retired ones within their grace period."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=jwt_settings().grace_period)
    return list(
        db.session.scalars(
            select(Jwks)
            .where(or_(Jwks.expires_at.is_(None), Jwks.expires_at > cutoff))
            .order_by(Jwks.created_at.desc(), Jwks.id)
        )
    )


def jwk_json(row: Jwks) -> dict[str, Any]:
    """The public JWK as better-auth's ``/jwks`` answers it."""
    body: dict[str, Any] = {"alg": row.alg or "EdDSA"}
    if row.crv:
        body["crv"] = row.crv
    body.update(_clean(json.loads(row.public_key)))
    body["kid"] = row.id
    return body
