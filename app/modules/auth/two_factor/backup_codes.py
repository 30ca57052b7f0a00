"""Backup codes: single-use recovery codes, stored as hashes (OWASP MFA Cheat Sheet, "Backup codes").

Codes look like better-auth's (``Hz7vh-QEdC8``: 10 characters of ``[a-zA-Z0-9]`` from a CSPRNG,
~59 bits), so SHA-256 without salt is enough to make a stolen table useless (as for session tokens,
``crypto.hash_token``). Lookup compares every stored digest in constant time (CWE-208). A database
migrated from better-auth holds its codes encrypted; those are read once and rewritten hashed.
"""

from __future__ import annotations

import hmac
import json
import string

from app.modules.auth.crypto import DecryptionError, generate_random_string, hash_token, symmetric_decrypt

_ALPHABET = string.ascii_lowercase + string.digits + string.ascii_uppercase


def generate(amount: int, length: int) -> list[str]:
    """``amount`` fresh codes, shown once to the user (``xxxxx-xxxxx``)."""
    codes = (generate_random_string(length, _ALPHABET) for _ in range(amount))
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def encode(codes: list[str]) -> str:
    """What is stored: the JSON list of the codes' SHA-256 digests."""
    return json.dumps([hash_token(code) for code in codes])


def _digests(stored: str, server_secret: str) -> list[str]:
    if stored.startswith("["):
        value = json.loads(stored)
        return [d for d in value if isinstance(d, str)] if isinstance(value, list) else []
    try:  # better-auth's encrypted JSON list of plain codes
        codes = json.loads(symmetric_decrypt(stored, server_secret))
    except (DecryptionError, ValueError):
        return []
    return [hash_token(c) for c in codes if isinstance(c, str)] if isinstance(codes, list) else []


def consume(stored: str, code: str, server_secret: str) -> str | None:
    """The stored value without ``code`` when ``code`` is one of the codes, else None."""
    digests = _digests(stored, server_secret)
    given = hash_token(code.strip())
    found = -1
    for index, digest in enumerate(digests):
        if hmac.compare_digest(digest, given):
            found = index
    if found < 0:
        return None
    return json.dumps(digests[:found] + digests[found + 1:])


def remaining(stored: str, server_secret: str) -> int:
    return len(_digests(stored, server_secret))
