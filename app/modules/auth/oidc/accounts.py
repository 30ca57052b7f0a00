"""Who the provider's identity is here: the linked account, an existing user to link, or a new user.

Account linking by email (better-auth's ``handleOAuthUserInfo``): an identity whose email matches
an existing local user is linked only when the provider says the email is verified *and* the
local email is verified (better-auth's ``requireLocalEmailVerified``, on by default). Otherwise the
sign-in fails with ``account_not_linked``: whoever controls an unverified email at one side must
not take over the account at the other (OWASP Authentication Cheat Sheet; the "pre-account
hijacking" attacks, Sudhodanan & Paverd 2022).

OAuth tokens are stored encrypted (XChaCha20-Poly1305 with a key from ``AUTH__SECRET``,
better-auth's ``encryptOAuthTokens``): a leaked table gives no access to the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import generate_id, symmetric_encrypt
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.oidc.profile import DEFAULT_ROLE, Profile

PROVIDER_ID = "keycloak"


class AccountNotLinked(Exception):
    """A local user has this email, and linking is not allowed (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    user: User
    account: Account
    is_new_user: bool
    linked: bool


def _encrypt(value: Any, secret: str) -> str | None:
    return symmetric_encrypt(value, secret) if isinstance(value, str) and value else None


def _expiry(seconds: Any, now: datetime) -> datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return now + timedelta(seconds=int(seconds))


def store_tokens(account: Account, token: dict[str, Any], scopes: str, secret: str) -> None:
    """Put the token response on the account, encrypted; keep a refresh token the provider did not resend."""
    now = utcnow()
    account.access_token = _encrypt(token.get("access_token"), secret)
    refresh = _encrypt(token.get("refresh_token"), secret)
    if refresh is not None:
        account.refresh_token = refresh
        account.refresh_token_expires_at = _expiry(token.get("refresh_expires_in"), now)
    account.id_token = _encrypt(token.get("id_token"), secret)
    account.access_token_expires_at = _expiry(token.get("expires_in"), now)
    granted = token.get("scope")
    account.scope = ",".join(str(granted).split()) if granted else scopes
    account.updated_at = now


def new_account(user_id: str, subject: str) -> Account:
    now = utcnow()
    account = Account(
        id=generate_id(),
        account_id=subject,
        provider_id=PROVIDER_ID,
        user_id=user_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(account)
    return account


def resolve_user(profile: Profile) -> Resolved:
    """The user for this identity (rows added, not committed); raises :class:`AccountNotLinked`."""
    assert profile.email, "the caller checks the email first"
    row = db.session.execute(
        select(Account, User)
        .join(User, Account.user_id == User.id)
        .where(Account.provider_id == PROVIDER_ID, Account.account_id == profile.subject)
    ).first()
    if row is not None:
        account, user = row[0], row[1]
        if profile.email_verified and not user.email_verified and profile.email == user.email:
            user.email_verified = True
        return Resolved(user=user, account=account, is_new_user=False, linked=False)
    existing: User | None = db.session.scalar(select(User).where(User.email == profile.email))
    if existing is not None:
        if not (profile.email_verified and existing.email_verified):
            raise AccountNotLinked(profile.email)
        account = new_account(existing.id, profile.subject)
        return Resolved(user=existing, account=account, is_new_user=False, linked=True)
    now = utcnow()
    user = User(
        id=generate_id(),
        name=profile.name,
        email=profile.email,
        email_verified=profile.email_verified,
        image=profile.image,
        firstname=profile.firstname,
        lastname=profile.lastname,
        role=DEFAULT_ROLE,
        banned=False,
        created_at=now,
        updated_at=now,
    )
    db.session.add(user)
    return Resolved(user=user, account=new_account(user.id, profile.subject), is_new_user=True, linked=False)
