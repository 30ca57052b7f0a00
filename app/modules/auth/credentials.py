"""The credential account: where a user's password hash lives (better-auth's ``account`` row with
``providerId: "credential"``), created on first use by whichever route sets a password."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import Account, utcnow

__all__ = ["store_password_hash"]


def store_password_hash(user_id: str, password_hash: str) -> None:
    """Set the user's password hash, adding the credential account when there is none (caller commits)."""
    now = utcnow()
    account = db.session.scalar(select(Account).where(Account.user_id == user_id, Account.provider_id == "credential"))
    if account is None:
        db.session.add(Account(id=generate_id(), account_id=user_id, provider_id="credential", user_id=user_id,
                               password=password_hash, created_at=now, updated_at=now))
    else:
        account.password = password_hash
        account.updated_at = now
