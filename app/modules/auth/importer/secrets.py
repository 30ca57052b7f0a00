"""Opening what better-auth encrypted, to seal it again with our secret.

better-auth's ``symmetricEncrypt`` (``better-auth/dist/crypto/index.mjs``) is XChaCha20-Poly1305
(draft-irtf-cfrg-xchacha; RFC 8439 AEAD) with key SHA-256(secret) and the nonce prepended, in hex;
with versioned secrets (``BETTER_AUTH_SECRETS="2:new,1:old"``) the hex is wrapped as
``$ba$<version>$<hex>``. :func:`app.modules.auth.crypto.symmetric_decrypt` is that cipher; this
module picks the key for each envelope. Authentication failure is a refusal, never a guess: data
that does not open is not imported (OWASP Cryptographic Storage Cheat Sheet, keys stay secret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.modules.auth.crypto import DecryptionError, symmetric_decrypt

__all__ = ["BetterAuthKeys", "DecryptionError", "looks_encrypted", "parse_versioned"]

_ENVELOPE = re.compile(r"^\$ba\$(\d+)\$([0-9a-fA-F]*)$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_MIN_HEX = (24 + 16) * 2  # nonce + tag, nothing shorter is a ciphertext


def parse_versioned(value: str) -> dict[int, str]:
    """``"2:new-secret,1:old-secret"`` (better-auth's ``BETTER_AUTH_SECRETS``) as {version: secret}."""
    out: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        version, sep, secret = part.partition(":")
        if not sep or not version.strip().isdigit() or not secret:
            raise ValueError(f"expected <version>:<secret>, got {part[:12]!r}...")
        out[int(version)] = secret
    return out


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has the shape of ``symmetricEncrypt``'s output (an envelope, or long hex)."""
    return bool(_ENVELOPE.match(value)) or (len(value) >= _MIN_HEX and len(value) % 2 == 0 and bool(_HEX.match(value)))


@dataclass(frozen=True)
class BetterAuthKeys:
    """better-auth's secret (``BETTER_AUTH_SECRET``) and/or versioned secrets (``BETTER_AUTH_SECRETS``)."""

    secret: str | None = None
    versioned: dict[int, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return bool(self.secret or self.versioned)

    def decrypt(self, value: str) -> str:
        """The plaintext; :class:`DecryptionError` with the reason when no key given opens it."""
        envelope = _ENVELOPE.match(value)
        if envelope:
            version = int(envelope.group(1))
            key = self.versioned.get(version)
            if key is None:
                raise DecryptionError(f"encrypted with secret version {version}, which was not given")
            return symmetric_decrypt(envelope.group(2), key)
        if self.secret is None:
            raise DecryptionError("encrypted with BETTER_AUTH_SECRET, which was not given")
        return symmetric_decrypt(value, self.secret)
