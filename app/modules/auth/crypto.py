"""Crypto primitives of the auth module, byte-compatible with better-auth 1.7.

What each function implements, and why:

- Signed values (cookies, bearer tokens): HMAC-SHA256 message authentication, RFC 2104 / FIPS 198-1,
  in better-call's wire format ``value + "." + base64(HMAC)``, RFC 4648 §4 standard base64. Signatures
  are compared in constant time (OWASP Session Management Cheat Sheet; CWE-208).
- Cookie encoding: JavaScript's ``encodeURIComponent`` (ECMA-262 §19.2.6.5), so cookie values are
  exactly what better-call writes and reads (RFC 6265 §4.1.1 cookie-octet).
- Random identifiers and tokens: drawn with :mod:`secrets`, a CSPRNG (OWASP Session Management Cheat
  Sheet, "Session ID Entropy"; RFC 4086).
- Stored tokens: SHA-256 (FIPS 180-4) of high-entropy tokens, so a leaked database does not leak live
  sessions or reset links (OWASP Forgot Password Cheat Sheet; Session Management Cheat Sheet).
- Symmetric encryption: XChaCha20-Poly1305 AEAD (RFC 8439 construction with the extended nonce of
  draft-irtf-cfrg-xchacha), as better-auth's ``symmetricEncrypt`` (``better-auth/dist/crypto/index.mjs``):
  key = SHA-256(secret), 24-byte random nonce prepended, lowercase hex output.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
from urllib.parse import quote, unquote

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_ABYTES,
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.exceptions import CryptoError

__all__ = [
    "ALPHANUMERIC",
    "DEFAULT_ALPHABET",
    "SIGNATURE_LENGTH",
    "DecryptionError",
    "cookie_decode",
    "cookie_encode",
    "generate_id",
    "generate_random_string",
    "hash_token",
    "sign_value",
    "symmetric_decrypt",
    "symmetric_encrypt",
    "unsign_value",
]

#: better-auth's ``generateRandomString`` default alphabets: ``a-z``, ``0-9``, ``A-Z``, ``-_``.
DEFAULT_ALPHABET = string.ascii_lowercase + string.digits + string.ascii_uppercase + "-_"
#: better-auth's ``generateId`` alphabet.
ALPHANUMERIC = string.ascii_letters + string.digits
#: Length of a base64 HMAC-SHA256 (32 bytes → 44 characters, one "=" of padding).
SIGNATURE_LENGTH = 44

# encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone; quote() always keeps A-Za-z0-9_.-~.
_URI_COMPONENT_SAFE = "!~*'()"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NONCE_BYTES: int = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_TAG_BYTES: int = crypto_aead_xchacha20poly1305_ietf_ABYTES


class DecryptionError(ValueError):
    """The ciphertext is malformed, was tampered with, or was made with another secret."""


# -- signed values ------------------------------------------------------------------------------


def _signature(value: str, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).digest()


def sign_value(value: str, secret: str) -> str:
    """``value.<base64 HMAC-SHA256>``: better-call's signed-cookie value, before cookie encoding."""
    return f"{value}.{base64.b64encode(_signature(value, secret)).decode('ascii')}"


def unsign_value(signed: str, secret: str) -> str | None:
    """The value of a signed string when its signature is valid for ``secret``, else None.

    Mirrors better-call's ``getSignedCookie``: split at the last ".", the value must not be empty and
    the signature must be 44 characters ending in "=". Never raises, whatever the input.
    """
    if not isinstance(signed, str) or not isinstance(secret, str):
        return None
    position = signed.rfind(".")
    if position < 1:
        return None
    value, signature = signed[:position], signed[position + 1 :]
    if len(signature) != SIGNATURE_LENGTH or not signature.endswith("="):
        return None
    try:
        given = base64.b64decode(signature, validate=True)
        expected = _signature(value, secret)
    except (binascii.Error, ValueError):  # bad base64, or text that is not encodable (lone surrogates)
        return None
    return value if hmac.compare_digest(given, expected) else None


# -- cookie encoding ----------------------------------------------------------------------------


def cookie_encode(signed: str) -> str:
    """Percent-encode as JavaScript's ``encodeURIComponent`` (UTF-8, same unescaped set)."""
    return quote(signed, safe=_URI_COMPONENT_SAFE)


def cookie_decode(raw: str) -> str:
    """Percent-decode a cookie value as better-call does (``decodeURIComponent`` when it has a "%").

    Values that are already decoded come back unchanged; a malformed escape or invalid UTF-8 leaves
    the whole value as it was, like the ``try { decodeURIComponent } catch`` of better-call.
    """
    if "%" not in raw or _BAD_PERCENT.search(raw):
        return raw
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return raw


# -- random values and token hashing ------------------------------------------------------------


def generate_random_string(length: int, alphabet: str = DEFAULT_ALPHABET) -> str:
    """``length`` characters drawn uniformly from ``alphabet`` with a CSPRNG."""
    if length < 0:
        raise ValueError("length must not be negative")
    if not alphabet:
        raise ValueError("alphabet must not be empty")
    return "".join(secrets.choice(alphabet) for _ in range(length))


def generate_id(length: int = 32) -> str:
    """An identifier or token of ``[A-Za-z0-9]``, as better-auth's ``generateId`` (32 → ~190 bits)."""
    return generate_random_string(length, ALPHANUMERIC)


def hash_token(token: str) -> str:
    """How secrets we hand out are stored: SHA-256, lowercase hex (64 characters).

    Session tokens, reset tokens and backup codes are random with far more entropy than a password,
    so neither a salt nor a slow hash is needed: a fast lookup by hash is safe and a stolen table is
    useless. Never use this for passwords (see ``passwords.py``).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- symmetric encryption -----------------------------------------------------------------------


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def symmetric_encrypt(plaintext: str, secret: str) -> str:
    """Encrypt as better-auth's ``symmetricEncrypt({key: secret, data})``: hex(nonce ‖ ciphertext ‖ tag)."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed: bytes = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext.encode("utf-8"), None, nonce, _key(secret))
    return (nonce + sealed).hex()


def symmetric_decrypt(ciphertext: str, secret: str) -> str:
    """Decrypt what :func:`symmetric_encrypt` or better-auth's ``symmetricEncrypt`` produced.

    Raises :class:`DecryptionError` when the data is not hex, too short, tampered with, or was
    encrypted with another secret.
    """
    try:
        data = binascii.unhexlify(ciphertext)
    except (binascii.Error, ValueError, TypeError):
        raise DecryptionError("ciphertext is not hex") from None
    if len(data) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("ciphertext is too short")
    nonce, sealed = data[:_NONCE_BYTES], data[_NONCE_BYTES:]
    try:
        plain: bytes = crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, None, nonce, _key(secret))
    except CryptoError:
        raise DecryptionError("ciphertext does not authenticate (wrong secret or tampered)") from None
    # better-auth decodes with a non-fatal TextDecoder: invalid UTF-8 becomes U+FFFD, it never fails.
    return plain.decode("utf-8", errors="replace")
