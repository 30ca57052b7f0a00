"""API keys at rest and on the wire: generation, hashing, the JSON shape better-auth answers.

- Keys: ``prefix`` + N random ``[a-zA-Z]`` from a CSPRNG (OWASP Secrets Management Cheat Sheet;
  better-auth's ``defaultKeyGenerator``). With N = 64 a key carries ~365 bits of entropy.
- Storage: only base64url(SHA-256(key)) without padding (FIPS 180-4, RFC 4648 §5), better-auth's
  ``defaultKeyHasher``: a leaked table yields no usable key, and better-auth rows keep working. A
  fast hash is right for high-entropy secrets (OWASP Password Storage Cheat Sheet: slow hashes are
  for low-entropy passwords). Lookup is by the hash through a unique index, so no comparison of
  the secret itself happens in application code (no timing side channel, CWE-208).
- The plaintext key is returned once, by create, and never again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from typing import Any

from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.crypto import generate_random_string
from app.modules.auth.serializers import iso

__all__ = ["generate_key", "hash_key", "key_json", "load_json"]


def generate_key(length: int, prefix: str | None) -> str:
    return (prefix or "") + generate_random_string(length, string.ascii_letters)


def hash_key(key: str) -> str:
    """better-auth's ``defaultKeyHasher``: base64url(SHA-256(key)), no padding."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_json(value: str | None) -> Any:
    """A JSON column as better-auth reads it; tolerates the double-stringified legacy metadata."""
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value)
        if isinstance(parsed, str):
            parsed = json.loads(parsed)
    except (TypeError, ValueError):
        return None
    return parsed


def key_json(row: ApiKey, *, plaintext: str | None = None, counters: tuple[int, Any] | None = None) -> dict[str, Any]:
    """The row as better-auth answers it: ``key`` only at creation, JSON columns as objects.

    ``counters`` (requestCount, lastRequest) overrides the row's when they live in Redis.
    """
    request_count, last_request = counters if counters is not None else (row.request_count, row.last_request)
    body: dict[str, Any] = {
        "id": row.id,
        "configId": row.config_id or "default",
        "name": row.name,
        "start": row.start,
        "referenceId": row.reference_id,
        "prefix": row.prefix,
    }
    if plaintext is not None:
        body["key"] = plaintext
    body.update(
        {
            "refillInterval": row.refill_interval,
            "refillAmount": row.refill_amount,
            "lastRefillAt": iso(row.last_refill_at),
            "enabled": bool(row.enabled),
            "rateLimitEnabled": bool(row.rate_limit_enabled),
            "rateLimitTimeWindow": row.rate_limit_time_window,
            "rateLimitMax": row.rate_limit_max,
            "requestCount": request_count or 0,
            "remaining": row.remaining,
            "lastRequest": iso(last_request),
            "expiresAt": iso(row.expires_at),
            "createdAt": iso(row.created_at),
            "updatedAt": iso(row.updated_at),
            "permissions": load_json(row.permissions),
            "metadata": load_json(row.meta),
        }
    )
    return body
