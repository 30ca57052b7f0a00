"""Sign-in lockout that an attacker cannot turn against the owner: per account and client, with
device cookies.

OWASP Authentication Cheat Sheet "Account Lockout" and OWASP "Slow Down Online Guessing Attacks
with Device Cookies": locking an account after N failures from anywhere lets anyone lock anyone out
(the admin too). Instead:

- A browser that has signed in to an account before carries a signed *device cookie* bound to that
  account (``HMAC(secret, account | nonce)``, rotated at every successful sign-in). Its failures
  count against that cookie only; a lock caused by others does not stop it. Too many failures with
  one device cookie lock that cookie (the browser is then an untrusted client).
- Untrusted clients (no valid device cookie) count failures per account *and* per client (the
  rate-limit address: IPv4, or the IPv6 /64). Once an account has ``slow_after`` untrusted failures
  every untrusted attempt on it waits ``delay`` seconds; at ``max_failures`` the account is locked
  for untrusted clients (and a client is locked on its own at ``max_failures`` of its own).
- No account is special: the bootstrap admin is locked and let through like any other.

No enumeration: a refused attempt answers exactly as a wrong password (the caller's 401, after a
dummy argon2 verification), and unknown emails are counted like known ones. Counters live in the
shared counter store (:mod:`app.modules.auth.counters`): Redis, or the database without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from flask import Flask, Response, after_this_request, current_app, g, request

from app.modules.auth.client_ip import rate_limit_key_ip
from app.modules.auth.cookies import read_signed_cookie, set_signed_cookie
from app.modules.auth.lockout import AccountLockout, identifier_digest

__all__ = ["DEVICE_COOKIE", "Attempt", "SignInGuard"]

#: ``better-auth.sign_in_device``: the device cookie (signed, HttpOnly, SameSite=Lax).
DEVICE_COOKIE = "sign_in_device"
_EXTENSION = "auth.sign_in_guard"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt: for which account, from which client, with which trusted device (if any)."""

    email: str
    client: str
    device: str | None


class SignInGuard:
    """Decides whether a sign-in attempt may be checked, and counts how it ended."""

    def __init__(self, lockout: AccountLockout, *, secret: bytes, slow_after: int, delay: float, device_max_age: int):
        self.lockout = lockout
        self.slow_after = slow_after
        self.delay = delay
        self.device_max_age = device_max_age
        self._secret = secret

    @classmethod
    def for_app(cls, app: Flask) -> SignInGuard:
        guard = app.extensions.get(_EXTENSION)
        if not isinstance(guard, SignInGuard):
            settings = app.config["SETTINGS"]
            options = settings.auth.lockout
            secret = (settings.auth.secret or "").encode("utf-8")
            lockout = AccountLockout.for_app(app)
            guard = cls(
                lockout,
                secret=secret,
                slow_after=options.slow_after,
                delay=options.delay,
                device_max_age=options.device_cookie_max_age,
            )
            app.extensions[_EXTENSION] = guard
        return guard

    # -- identifiers of the three kinds of counters ------------------------------------------------

    @staticmethod
    def _client_id(attempt: Attempt) -> str:
        return f"{attempt.email}\x00client\x00{attempt.client}"

    @staticmethod
    def _device_id(nonce: str) -> str:
        return f"\x00device\x00{nonce}"

    def _mac(self, email: str, nonce: str) -> str:
        message = f"sign-in-device|{identifier_digest(email, self._secret)}|{nonce}".encode()
        return base64.urlsafe_b64encode(hmac.new(self._secret, message, hashlib.sha256).digest()).decode().rstrip("=")

    # -- the attempt -------------------------------------------------------------------------------

    def attempt(self, email: str) -> Attempt:
        """The attempt of this request on ``email``; its device only when the cookie is valid for
        this account and not locked itself."""
        client = rate_limit_key_ip(g.get("client_ip") or request.remote_addr or "") or "no-ip"
        return Attempt(email=email, client=client, device=self._trusted_device(email))

    def _trusted_device(self, email: str) -> str | None:
        value = read_signed_cookie(request, DEVICE_COOKIE)
        if not value or "!" not in value:
            return None
        nonce, _, mac = value.partition("!")
        if not nonce or not hmac.compare_digest(mac.encode(), self._mac(email, nonce).encode()):
            return None  # forged, or another account's cookie
        if self.lockout.is_locked(self._device_id(nonce)):
            return None  # locked device cookies count as untrusted clients (OWASP)
        return nonce

    def refused(self, attempt: Attempt) -> bool:
        """True when the attempt must not be checked (answer it as a wrong password)."""
        if attempt.device is not None:
            return False
        return self.lockout.is_locked(attempt.email) or self.lockout.is_locked(self._client_id(attempt))

    def slow_down(self, attempt: Attempt) -> None:
        """An untrusted client on an account under attack waits before its attempt is checked."""
        if attempt.device is None and self.delay > 0 and self.lockout.failures(attempt.email) >= self.slow_after:
            time.sleep(self.delay)

    def failed(self, attempt: Attempt) -> None:
        if attempt.device is not None:
            self.lockout.record_failure(self._device_id(attempt.device))
            return
        self.lockout.record_failure(attempt.email)
        self.lockout.record_failure(self._client_id(attempt))

    def succeeded(self, attempt: Attempt) -> None:
        """Forget this client's (or device's) failures and leave a fresh device cookie in the answer."""
        if attempt.device is not None:
            self.lockout.reset(self._device_id(attempt.device))
        else:
            self.lockout.reset(attempt.email)
        self.lockout.reset(self._client_id(attempt))
        nonce = secrets.token_urlsafe(24)
        value = f"{nonce}!{self._mac(attempt.email, nonce)}"

        @after_this_request
        def _set_device_cookie(response: Response) -> Response:
            if response.status_code == 200:
                set_signed_cookie(response, DEVICE_COOKIE, value, self.device_max_age)
            return response


def sign_in_guard() -> SignInGuard | None:
    """The app's guard, or None when lockout is off."""
    guard = current_app.extensions.get(_EXTENSION)
    return guard if isinstance(guard, SignInGuard) and guard.lockout.enabled else None
