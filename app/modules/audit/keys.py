"""The audit chain's keys: HMAC-SHA256 under a key of its own, rotatable, the key id kept per entry.

An unkeyed SHA-256 chain can be rewritten by anyone who can write the table: change an entry and
recompute every later hash. With an HMAC (RFC 2104; NIST SP 800-107 for HMAC-SHA256) the rewrite
needs the key, which lives in the app's settings, not in the database (OWASP Logging Cheat Sheet,
"Attacks on Logs": integrity protection of log data).

- ``MODULES__AUDIT__KEY`` signs new entries, under the id ``MODULES__AUDIT__KEY_ID``.
- ``MODULES__AUDIT__PREVIOUS_KEYS`` (``id:key,id:key``) only verify: rotate by moving the current key
  there and setting a new one with a new id. Entries keep the id of the key that signed them.
- Required in production when the module is on; elsewhere a fixed development key (id ``dev``,
  not secret) is used, with a warning, so development chains verify across restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from config import ConfigError

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 32
DEVELOPMENT_KEY_ID = "dev"
DEVELOPMENT_KEY = "development-only-audit-chain-key-not-secret"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


@dataclass(frozen=True)
class Keyring:
    """The signing key and every key that may verify."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)  # never in a log line or a traceback

    def sign(self, key_id: str, message: bytes) -> str:
        return hmac.new(self.keys[key_id], message, hashlib.sha256).hexdigest()

    def knows(self, key_id: str) -> bool:
        return key_id in self.keys

    @property
    def is_development(self) -> bool:
        return self.current_id == DEVELOPMENT_KEY_ID and self.keys[self.current_id] == DEVELOPMENT_KEY.encode()


def _check_key(name: str, key: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{name} is {len(key)} characters long; expected a random string of at least "
                        f"{MIN_KEY_LENGTH} (python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return key.encode()


def _check_id(name: str, key_id: str) -> str:
    if not KEY_ID_PATTERN.match(key_id):
        raise ConfigError(f"{name}={key_id!r} is not a key id; expected 1 to 32 letters, digits, '.', '_' or '-'")
    return key_id


def build_keyring(
    prefix: str, key: str | None, key_id: str, previous: str | None, *, production: bool, auth_secret: str | None
) -> Keyring:
    """The keyring from the settings; ``ConfigError`` names the variable that is wrong, never a key."""
    keys: dict[str, bytes] = {}
    for item in (previous or "").split(","):
        item = item.strip()
        if not item:
            continue
        old_id, sep, old_key = item.partition(":")
        if not sep:
            raise ConfigError(f"{prefix}PREVIOUS_KEYS has an item without ':'; expected id:key,id:key")
        keys[_check_id(f"{prefix}PREVIOUS_KEYS id", old_id.strip())] = _check_key(
            f"{prefix}PREVIOUS_KEYS key {old_id.strip()!r}", old_key.strip())
    if not key:
        if production:
            raise ConfigError(f"{prefix}KEY is required in production when MODULES__AUDIT=true; expected a random "
                            f"string of at least {MIN_KEY_LENGTH} characters, separate from AUTH__SECRET")
        log.warning("%sKEY is not set; the audit chain is signed with the development key (not secret)", prefix)
        keys[DEVELOPMENT_KEY_ID] = DEVELOPMENT_KEY.encode()
        return Keyring(DEVELOPMENT_KEY_ID, keys)
    current = _check_key(f"{prefix}KEY", key)
    if auth_secret and hmac.compare_digest(current, auth_secret.encode()):
        raise ConfigError(f"{prefix}KEY is the same as AUTH__SECRET; expected a key of its own")
    key_id = _check_id(f"{prefix}KEY_ID", key_id)
    if key_id in keys and not hmac.compare_digest(keys[key_id], current):
        raise ConfigError(f"{prefix}KEY_ID={key_id!r} is also in {prefix}PREVIOUS_KEYS with another key")
    keys[key_id] = current
    return Keyring(key_id, keys)
