"""``flask auth purge-expired``: delete the passwordless secrets nobody used before they expired.

Email codes, magic links and passkey challenges that were never used stay in their tables after
expiry (harmless: hashed, and refused once expired), so a cron job should run this; the passkey
challenges, which anonymous visitors create, are also purged now and then as new ones are made.
"""

from __future__ import annotations

import click
from sqlalchemy import delete

from app.extensions import db
from app.modules.auth.cli import auth_cli
from app.modules.auth.models import Verification, utcnow

#: Identifier prefixes of the passwordless rows in ``verification``.
PREFIXES = ("magic-link:", "passkey-challenge:")


def purge_expired() -> int:
    """Delete expired email codes, magic links and passkey challenges; the number of rows."""
    from app.modules.auth.email_otp.models import EmailOtp

    now = utcnow()
    removed = int(getattr(db.session.execute(delete(EmailOtp).where(EmailOtp.expires_at <= now)), "rowcount", 0) or 0)
    for prefix in PREFIXES:
        query = delete(Verification).where(Verification.identifier.startswith(prefix), Verification.expires_at <= now)
        removed += int(getattr(db.session.execute(query), "rowcount", 0) or 0)
    db.session.commit()
    return removed


@auth_cli.command("purge-expired")
def purge_expired_command() -> None:
    """Delete expired email codes, magic links and passkey challenges."""
    click.echo(f"purged {purge_expired()} expired row(s)")
