"""Single-use secrets kept as ``verification`` rows: consumed by one statement that says who won.

OWASP Forgot Password Cheat Sheet ("single use"), OWASP ASVS 4.0 V2.5.7 / V3.7.1 and RFC 6749
§10.5 (codes used once): a token is spent by ``DELETE ... WHERE identifier = ? RETURNING ...``, so
of N concurrent requests carrying it exactly one gets the row back and acts; the others see no row
and are refused, whatever the isolation level (PostgreSQL blocks the second DELETE on the row lock
and then finds it gone; SQLite has one writer). Reading the row first and deleting it afterwards
lets every racer act: that was the reset-password bug of issue 14.

A password reset or change also ends every other reset link of the user: a link mailed before the
password changed must not undo the change (OWASP Forgot Password Cheat Sheet, "invalidate").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from app.extensions import db
from app.modules.auth.models import Verification, utcnow

__all__ = ["RESET_PREFIX", "Consumed", "consume", "forget_reset_tokens"]

#: Identifier prefix of password-reset rows (``reset-password:<sha256 of the token>``, value: user id).
RESET_PREFIX = "reset-password:"


@dataclass(frozen=True, slots=True)
class Consumed:
    """The row this request deleted: its value and when it would have expired."""

    value: str
    expires_at: datetime

    @property
    def live(self) -> bool:
        return self.expires_at > utcnow()


def consume(identifier: str) -> Consumed | None:
    """Delete the row named ``identifier`` and return it when this call deleted it, else None.

    The caller commits (or rolls back, which gives the secret back). An expired row is deleted
    too and returned with ``live`` False, so it cannot be tried again.
    """
    row = db.session.execute(
        delete(Verification)
        .where(Verification.identifier == identifier)
        .returning(Verification.value, Verification.expires_at)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return None
    return Consumed(value=row[0], expires_at=row[1])


def forget_reset_tokens(user_id: str) -> None:
    """Every outstanding reset link of the user dies (with the caller's commit)."""
    db.session.execute(
        delete(Verification)
        .where(Verification.identifier.startswith(RESET_PREFIX), Verification.value == user_id)
        .execution_options(synchronize_session=False)
    )
