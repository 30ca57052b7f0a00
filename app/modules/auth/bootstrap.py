"""The admin bootstrap: ``ADMIN__EMAIL`` + ``ADMIN__PASSWORD`` make one admin, once, whoever starts first.

Several gunicorn workers run ``on_ready`` at the same moment; the unique email makes the database
the referee, so exactly one insert wins and the others find the user there.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.passwords import PasswordHasher, check_password_length

log = logging.getLogger(__name__)


def bootstrap_admin(app: Flask) -> bool:
    """Create the configured admin when missing; True when this call created it."""
    settings = app.config["SETTINGS"]
    email, password = settings.admin.email, settings.admin.password
    if not email or not password:
        return False
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        return False
    check_password_length(password, settings.auth.min_password_length, settings.auth.max_password_length)
    hasher: PasswordHasher = app.extensions["auth.hasher"]
    now = utcnow()
    user = User(
        id=generate_id(),
        name=email.split("@")[0],
        email=email,
        email_verified=True,
        role="admin",
        banned=False,
        created_at=now,
        updated_at=now,
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(
        Account(
            id=generate_id(),
            account_id=user.id,
            provider_id="credential",
            user_id=user.id,
            password=hasher.hash(password),
            created_at=now,
            updated_at=now,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("admin %s was created by another process", email)
        return False
    log.info("admin %s created", email)
    return True
