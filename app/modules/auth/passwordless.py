"""What the passwordless plugins (email OTP, magic link, passkey) share.

- :func:`require_enabled`: a plugin's routes live on the shared auth blueprint, so a disabled
  plugin answers 404 as an unknown better-auth path does.
- :func:`create_verified_user` / :func:`prove_email_ownership`: a mailed secret proves the mailbox.
  An existing *unverified* account reached that way (a passwordless sign-in, a password reset by
  code) loses every password, OAuth link, passkey, API key, second factor and session it had
  before the proof (account pre-hijacking defence, Sudhodanan & Paverd 2022;
  better-auth's ``revokeUnprovenAccountAccess``).
- :func:`complete_sign_in`: a session like a password sign-in's, after the plugins' sign-in hooks
  (the two-factor challenge) unless the method is already multi-factor (a user-verified passkey).
- :class:`AddressLimiter`: a per-address fixed window on top of the per-client limits, so one
  mailbox cannot be flooded from many clients (OWASP Authentication Cheat Sheet, automated attacks).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import Response, current_app, request
from limits import RateLimitItemPerSecond
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import ApiError
from app.core.settings import SectionT, current
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.cookies import token_from_request
from app.modules.auth.counters import STORAGE_ERRORS, counter_storage
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.models import Account, Session, User, utcnow
from app.modules.auth.routes.common import banned_user, json_response, start_session, user_body, with_session_cookie
from app.modules.auth.serializers import session_json
from app.modules.auth.sessions import invalidate_user, revoke_by_hash, revoke_user_sessions
from app.modules.auth.state import auth_state

__all__ = [
    "AddressLimiter",
    "complete_sign_in",
    "create_verified_user",
    "keyed_hash",
    "prove_email_ownership",
    "require_enabled",
    "sign_in",
    "user_by_email",
]

NOT_FOUND = ApiError(404, "NOT_FOUND", "Not Found")


def require_enabled(model: type[SectionT]) -> SectionT:
    """The plugin's settings; 404 when the plugin is switched off (``enabled`` false)."""
    found = current(model)
    if not getattr(found, "enabled", False):
        raise NOT_FOUND
    return found


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 under the app secret: short codes (6 digits) cannot be brute-forced from a
    stolen table without the secret (OWASP Password Storage Cheat Sheet, peppering)."""
    secret = str(current_app.config["SETTINGS"].auth.secret).encode()
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def user_by_email(email: str) -> User | None:
    found: User | None = db.session.scalar(select(User).where(User.email == email))
    return found


def create_verified_user(email: str, name: str | None, image: str | None = None) -> tuple[User, bool]:
    """A new user whose address was just proven, flushed; ``(user, True)``. When a concurrent
    request created that address first (two links followed at once), ``(their user, False)``."""
    now = utcnow()
    user = User(
        id=generate_id(),
        name=(name or "")[:255],
        email=email,
        email_verified=True,
        image=image,
        role="user",
        banned=False,
        created_at=now,
        updated_at=now,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = user_by_email(email)
        if existing is None:
            raise
        return existing, False
    return user, True


def prove_email_ownership(user: User) -> None:
    """The mailbox owner proved control: an unverified account is stripped of what predates it,
    since whoever created it may not be the mailbox owner (account pre-hijacking)."""
    if user.email_verified:
        return
    from app.modules.auth.api_key.models import ApiKey
    from app.modules.auth.passkey.models import Passkey
    from app.modules.auth.two_factor.models import TwoFactor

    db.session.execute(delete(Account).where(Account.user_id == user.id))
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    db.session.execute(delete(ApiKey).where(ApiKey.reference_id == user.id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
    user.two_factor_enabled = False
    revoke_user_sessions(user.id)
    user.email_verified = True
    user.updated_at = utcnow()
    invalidate_user(user.id)
    audit_logger.log_async(
        actor_id=user.id, action="user.unproven_access_revoked", resource_type="user", resource_id=user.id
    )


def _end_presented_session() -> None:
    """Session fixation defence (OWASP): a session presented at sign-in is replaced, not reused."""
    token, _ = token_from_request(request)
    if token:
        revoke_by_hash([hash_token(token)])


@dataclass(frozen=True)
class SignIn:
    """The outcome of :func:`sign_in`: a session (``token``, ``session``), or a ``challenge``
    response (two-factor) that must be answered instead."""

    token: str | None = None
    session: Session | None = None
    challenge: Response | None = None


def sign_in(user: User, *, method: str, remember_me: bool = True, multi_factor: bool = False) -> SignIn:
    """Commit a sign-in of ``user`` by ``method``.

    Banned users are refused. Unless ``multi_factor``, the sign-in hooks run first: a 2FA user gets
    the two-factor challenge instead of a session, as after a password (better-auth lets a magic
    link or an email code skip the second factor; we do not).
    """
    if user.is_banned():
        db.session.rollback()
        raise banned_user()
    if not multi_factor:
        body = SimpleNamespace(remember_me=remember_me, first_factor=method)
        for hook in auth_state().sign_in_hooks:
            taken_over: Response | None = hook(user, body)
            if taken_over is not None:
                db.session.commit()
                audit_logger.log_async(
                    actor_id=user.id,
                    action="auth.sign_in.challenge",
                    resource_type="user",
                    resource_id=user.id,
                    details={"method": method},
                )
                return SignIn(challenge=taken_over)
    _end_presented_session()
    token, session = start_session(user, dont_remember=not remember_me)
    db.session.commit()
    audit_logger.log_async(
        actor_id=user.id, action="auth.sign_in", resource_type="user", resource_id=user.id, details={"method": method}
    )
    return SignIn(token=token, session=session)


def complete_sign_in(
    user: User,
    *,
    method: str,
    remember_me: bool = True,
    multi_factor: bool = False,
    include_token: bool = True,
    include_session: bool = False,
) -> Response:
    """:func:`sign_in`, answered as better-auth does: ``{token, user}`` (``session`` too with
    ``include_session``) and the session cookie, or the challenge."""
    done = sign_in(user, method=method, remember_me=remember_me, multi_factor=multi_factor)
    if done.challenge is not None:
        return done.challenge
    assert done.token is not None and done.session is not None
    answer: dict[str, Any] = {"token": done.token} if include_token else {}
    if include_session:
        answer["session"] = session_json(done.session, done.token)
    answer["user"] = user_body(user)
    return with_session_cookie(json_response(answer), done.token, dont_remember=not remember_me)


class AddressLimiter:
    """Mails to one address: at most ``max`` per ``window`` seconds from one client, and at most
    ``CLIENTS * max`` from all clients together.

    Over the limit the caller answers as usual and sends nothing (:meth:`hit` is False): a flood
    learns nothing and the mailbox gets no more, while the owner asking from their own network is
    not locked out by someone else's flood from one client (OWASP Authentication Cheat Sheet,
    "Protect against automated attacks": no denial of service against the account's owner).
    """

    #: How many clients' worth of mails one address may receive per window.
    CLIENTS = 4

    def __init__(self, name: str, window: int, max: int) -> None:
        """``max`` 0 switches the limit off."""
        self.item = RateLimitItemPerSecond(max, window, namespace=f"addr-{name}")
        self.total = RateLimitItemPerSecond(max * self.CLIENTS, window, namespace=f"addr-all-{name}")
        self.name = name

    def __bool__(self) -> bool:
        return self.item.amount > 0

    def hit(self, address: str) -> bool:
        """Count one mail to ``address`` from this request's client; False when it must not go. On
        whatever ``AUTH__RATE_LIMIT__ENABLED`` says: a mailbox flood is no less a flood in development."""
        if self.item.amount <= 0:
            return True
        from app.modules.auth.client_ip import rate_limit_key_ip
        from app.modules.auth.routes.common import client_ip

        limiter = FixedWindowRateLimiter(counter_storage(current_app))
        try:
            this_client = limiter.hit(self.item, hash_token(f"{address}\x00{rate_limit_key_ip(client_ip())}"))
            return bool(this_client and limiter.hit(self.total, hash_token(address)))
        except STORAGE_ERRORS:  # counters down: serve rather than fail every request
            return True
