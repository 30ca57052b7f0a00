"""TOTP (RFC 6238, HMAC-SHA1 over RFC 4226 HOTP) as better-auth does it, plus a replay guard.

Secrets are better-auth's: 32 random characters whose UTF-8 bytes are the HMAC key, shown to
authenticator apps in base32 without padding (the ``otpauth://`` Key URI format). Verification
accepts the current step and one step either side (RFC 6238 §5.2 network delay), compares in
constant time (CWE-208), and returns the matched step so the caller can refuse a code whose step
is not newer than the last accepted one: an OTP is accepted once (RFC 6238 §5.2, OWASP MFA
Cheat Sheet), which better-auth does not do.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from urllib.parse import quote, urlencode

import pyotp

from app.modules.auth.crypto import generate_random_string, symmetric_decrypt, symmetric_encrypt

SECRET_LENGTH = 32
_IMPORTED_PREFIX = "base32:"


def new_secret() -> str:
    """A raw secret as better-auth makes them (``generateRandomString(32)``, 32 bytes of key)."""
    return generate_random_string(SECRET_LENGTH)


def seal(secret: str, server_secret: str) -> str:
    return symmetric_encrypt(secret, server_secret)


def unseal(sealed: str, server_secret: str) -> bytes:
    """The HMAC key of a stored secret; ``base32:<secret>`` (imported into better-auth) is decoded."""
    secret = symmetric_decrypt(sealed, server_secret)
    if secret.startswith(_IMPORTED_PREFIX):
        encoded = secret[len(_IMPORTED_PREFIX):].upper().rstrip("=")
        return base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    return secret.encode("utf-8")


def _b32(key: bytes) -> str:
    return base64.b32encode(key).decode("ascii").rstrip("=")


def totp_uri(key: bytes, *, issuer: str, account: str, digits: int, period: int) -> str:
    """better-auth's ``createOTP(secret).url(issuer, account)``, byte for byte."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='')}"
    params = urlencode({"secret": _b32(key), "issuer": issuer, "digits": digits, "period": period})
    return f"otpauth://totp/{label}?{params}"


def matching_step(key: bytes, code: str, *, digits: int, period: int, now: float | None = None) -> int | None:
    """The time step (within ±1 of now) whose code is ``code``, or None. Constant time per step."""
    code = code.strip()
    if not re.fullmatch(rf"\d{{{digits}}}", code):
        return None
    generator = pyotp.TOTP(_b32(key), digits=digits, interval=period)
    current = int((time.time() if now is None else now) // period)
    matched: int | None = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(generator.generate_otp(step), code):
            matched = step
    return matched
