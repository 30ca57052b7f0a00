"""Temporary account lockout after repeated failed sign-ins.

Implements OWASP Authentication Cheat Sheet "Account Lockout" (and NIST SP 800-63B §5.2.2,
rate-limiting failed attempts per account): after ``max_failures`` failed sign-ins for one
account within ``window`` seconds, the account is locked for ``duration`` seconds, then unlocks
by itself (a time-limited lock, so an attacker cannot lock a user out for good). A successful
sign-in resets the count. This complements the per-IP rate limit, which a botnet spreading a
password-guessing run over many addresses would not trip.

No enumeration: the sign-in route answers a locked account exactly as a wrong password
(401 ``INVALID_EMAIL_OR_PASSWORD``, same message) and counts unknown emails too, so neither the
lock nor the existence of an account can be observed. It checks :meth:`AccountLockout.is_locked`
before verifying the password, so a locked account gets no password oracle either.

No plaintext emails in Redis: keys are ``HMAC-SHA256(secret, normalized email)``; a plain hash
of an email could be reversed with a list of known addresses, a keyed one cannot without the
secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Flask
from limits.storage import Storage

from app.modules.auth.counters import STORAGE_ERRORS, counter_storage

__all__ = ["AccountLockout", "identifier_digest"]

log = logging.getLogger(__name__)

_EXTENSION = "auth.lockout"


def identifier_digest(identifier: str, secret: bytes) -> str:
    """The key part for an account: HMAC of the trimmed, lower-cased identifier (an email)."""
    normalized = identifier.strip().lower().encode("utf-8")
    return hmac.new(secret, normalized, hashlib.sha256).hexdigest()


class AccountLockout:
    """Counts failed sign-ins per account and locks the account when there are too many."""

    def __init__(
        self,
        storage: Storage,
        *,
        secret: bytes,
        enabled: bool = True,
        max_failures: int = 10,
        window: int = 900,
        duration: int = 900,
    ) -> None:
        self.storage = storage
        self.enabled = enabled
        self.max_failures = max_failures
        self.window = window
        self.duration = duration
        self._secret = secret

    @classmethod
    def for_app(cls, app: Flask) -> AccountLockout:
        """The app's lockout from ``AUTH__LOCKOUT__*``, built once and kept in ``app.extensions``."""
        lockout = app.extensions.get(_EXTENSION)
        if not isinstance(lockout, AccountLockout):
            settings = app.config["SETTINGS"]
            options = settings.auth.lockout
            lockout = cls(
                counter_storage(app),
                secret=(settings.auth.secret or "").encode("utf-8"),
                enabled=options.enabled,
                max_failures=options.max_failures,
                window=options.window,
                duration=options.duration,
            )
            app.extensions[_EXTENSION] = lockout
        return lockout

    def _keys(self, identifier: str) -> tuple[str, str]:
        digest = identifier_digest(identifier, self._secret)
        return f"lockout:failures:{digest}", f"lockout:locked:{digest}"

    def is_locked(self, identifier: str) -> bool:
        """True while the account is locked; check it before verifying the password."""
        if not self.enabled:
            return False
        try:
            return self.storage.get(self._keys(identifier)[1]) > 0
        except STORAGE_ERRORS as error:  # counters down: sign-in still works, loudly
            log.error("lockout storage unavailable, lock not checked: %s", error)
            return False

    def failures(self, identifier: str) -> int:
        """Failures counted in the current window (0 when the storage does not answer)."""
        if not self.enabled:
            return 0
        try:
            return int(self.storage.get(self._keys(identifier)[0]))
        except STORAGE_ERRORS as error:  # counters down: no slowing down, loudly
            log.error("lockout storage unavailable, failures not read: %s", error)
            return 0

    def record_failure(self, identifier: str) -> None:
        """Count one failed sign-in; lock the account when this one reaches ``max_failures``.

        Failures while locked are not counted, so the lock ends ``duration`` after it began.
        """
        if not self.enabled:
            return
        failures_key, locked_key = self._keys(identifier)
        try:
            if self.storage.get(locked_key) > 0:
                return
            if self.storage.incr(failures_key, self.window) >= self.max_failures:
                self.storage.incr(locked_key, self.duration)
                self.storage.clear(failures_key)
        except STORAGE_ERRORS as error:
            log.error("lockout storage unavailable, failure not counted: %s", error)

    def reset(self, identifier: str) -> None:
        """Forget the failures and any lock (after a successful sign-in or a password reset)."""
        failures_key, locked_key = self._keys(identifier)
        try:
            self.storage.clear(failures_key)
            self.storage.clear(locked_key)
        except STORAGE_ERRORS as error:
            log.error("lockout storage unavailable, counters not reset: %s", error)
