"""Password hashing: argon2id for new hashes, better-auth's scrypt hashes accepted and upgraded.

Implements the OWASP Password Storage Cheat Sheet:

- argon2id with the cheat sheet's minimum cost by default (m=19 MiB, t=2, p=1; ``config.Argon2Settings``),
  also RFC 9106 (Argon2). Salts are random per hash (argon2-cffi, 16 bytes).
- Legacy hashes: better-auth's ``"<saltHex>:<keyHex>"`` scrypt (N=16384, r=16, p=1, dkLen=64, RFC 7914)
  verify, and :meth:`PasswordHasher.needs_rehash` tells the caller to upgrade them on sign-in
  ("Upgrading Legacy Hashes").
- Passwords are NFKC-normalized before hashing (as better-auth; NIST SP 800-63B §5.1.1.2) and
  compared in constant time (CWE-208).
- :meth:`PasswordHasher.dummy_verify` spends the cost of a real verification for unknown accounts, so
  response time does not reveal which emails exist (OWASP Authentication Cheat Sheet, "Authentication
  Responses").
- Length limits with better-auth's error codes; the maximum bounds the work an attacker can ask for
  (OWASP Password Storage Cheat Sheet, "Maximum Password Lengths").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.errors import ApiError
from config import Argon2Settings

__all__ = ["PasswordHasher", "check_password_length", "scrypt_hash", "scrypt_verify"]

log = logging.getLogger(__name__)

# better-auth's scrypt parameters (@better-auth/utils/dist/password.node.mjs).
SCRYPT_N = 16384
SCRYPT_R = 16
SCRYPT_P = 1
SCRYPT_DKLEN = 64
_SCRYPT_MAXMEM = 128 * SCRYPT_N * SCRYPT_R * 2  # as node: 64 MiB, twice what the derivation needs
_SCRYPT_FORMAT = re.compile(r"^([^:]{1,256}):([0-9a-fA-F]{128})$")
_ARGON2_PREFIX = "$argon2"


def _normalize(password: str) -> str:
    """NFKC, with lone surrogates turned into U+FFFD as JavaScript's UTF-8 encoding does."""
    well_formed = password.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return unicodedata.normalize("NFKC", well_formed)


def _scrypt_key(password: str, salt: str) -> bytes:
    return hashlib.scrypt(
        _normalize(password).encode("utf-8"),
        salt=salt.encode("utf-8"),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        maxmem=_SCRYPT_MAXMEM,
    )


def scrypt_hash(password: str) -> str:
    """A hash in better-auth's format, ``"<32 hex salt>:<128 hex key>"``; the salt is used as text."""
    salt = secrets.token_hex(16)
    return f"{salt}:{_scrypt_key(password, salt).hex()}"


def is_scrypt_hash(stored_hash: str) -> bool:
    """True when ``stored_hash`` has better-auth's scrypt shape."""
    return isinstance(stored_hash, str) and _SCRYPT_FORMAT.match(stored_hash) is not None


def scrypt_verify(stored_hash: str, password: str) -> bool:
    """Check ``password`` against a better-auth scrypt hash, in constant time; False when malformed."""
    match = _SCRYPT_FORMAT.match(stored_hash) if isinstance(stored_hash, str) else None
    if match is None or not isinstance(password, str):
        log.warning("password hash is not in better-auth's scrypt format")
        return False
    salt, key_hex = match.groups()
    try:
        key = _scrypt_key(password, salt)
    except (ValueError, MemoryError):
        log.warning("scrypt failed on a stored password hash", exc_info=True)
        return False
    return hmac.compare_digest(key, bytes.fromhex(key_hex))


class PasswordHasher:
    """argon2id hashing with the configured cost; verifies argon2 and better-auth scrypt hashes."""

    def __init__(self, settings: Argon2Settings) -> None:
        self._argon2 = _Argon2(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost,
            parallelism=settings.parallelism,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id PHC string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) of the NFKC password."""
        return self._argon2.hash(_normalize(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when ``password`` matches; False on mismatch and on malformed hashes (logged, never raised)."""
        if not isinstance(stored_hash, str) or not isinstance(password, str):
            log.warning("password verification called with a non-text hash or password")
            return False
        if stored_hash.startswith(_ARGON2_PREFIX):
            return self._verify_argon2(stored_hash, password)
        if is_scrypt_hash(stored_hash):
            return scrypt_verify(stored_hash, password)
        log.warning("stored password hash has an unknown format")
        return False

    def _verify_argon2(self, stored_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored_hash, _normalize(password))
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            log.warning("stored argon2 password hash is malformed or unverifiable")
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash should be replaced by :meth:`hash`: scrypt, other argon2 parameters, unknown."""
        if not isinstance(stored_hash, str) or not stored_hash.startswith(_ARGON2_PREFIX):
            return True
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend what a real verification costs, for a sign-in whose account does not exist.

        The dummy hash is made once, lazily, with the configured parameters, so the time of a
        sign-in does not tell whether the email is registered.
        """
        if self._dummy_hash is None:
            self._dummy_hash = self.hash(secrets.token_urlsafe(16))
        self._verify_argon2(self._dummy_hash, password)


def _utf16_length(password: str) -> int:
    # better-auth checks ``password.length``: UTF-16 code units, so an emoji counts as two.
    return len(password.encode("utf-16-le", errors="surrogatepass")) // 2


def check_password_length(password: str, min_length: int, max_length: int) -> None:
    """Raise better-auth's 400 ``PASSWORD_TOO_SHORT`` / ``PASSWORD_TOO_LONG`` outside the bounds."""
    length = _utf16_length(password)
    if length < min_length:
        raise ApiError(400, "PASSWORD_TOO_SHORT", "Password too short")
    if length > max_length:
        raise ApiError(400, "PASSWORD_TOO_LONG", "Password too long")
