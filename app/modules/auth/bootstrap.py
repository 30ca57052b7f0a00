"""The admin bootstrap: ``ADMIN__EMAIL`` + ``ADMIN__PASSWORD`` make one admin, once, whoever starts first.

Several gunicorn workers (and instances) run ``on_ready`` at the same moment; the unique email makes
the database the referee, so exactly one insert wins and the others, whose INSERT fails on the
unique index (at flush or at commit, depending on the database), find the user there and are ready.
"""

from __future__ import annotations

import logging

from flask import Flask
from pydantic_settings import SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.settings import Section, section
from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.passwords import PasswordHasher, check_password_length
from app.modules.auth.state import auth_state

log = logging.getLogger(__name__)


class AdminSettings(Section):
    """``ADMIN__EMAIL`` and ``ADMIN__PASSWORD``: the first admin, made at start when missing."""

    model_config = SettingsConfigDict(env_prefix="ADMIN__")

    email: str | None = None
    password: str | None = None


def bootstrap_admin(app: Flask) -> bool:
    """Create the configured admin when missing; True when this call created it."""
    settings = app.config["SETTINGS"]
    admin = section(app, AdminSettings)
    email, password = admin.email, admin.password
    if not email or not password:
        return False
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)):
        return False
    check_password_length(password, settings.auth.min_password_length, settings.auth.max_password_length)
    hasher: PasswordHasher = auth_state(app).hasher
    password_hash = hasher.hash(password)  # before the INSERT: no lock is held while argon2 runs
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
    try:
        # The flush sends the INSERT: on PostgreSQL it waits on the unique email index until the
        # winner commits, then raises here, so it belongs inside the try as much as the commit.
        db.session.flush()
        db.session.add(
            Account(
                id=generate_id(),
                account_id=user.id,
                provider_id="credential",
                user_id=user.id,
                password=password_hash,
                created_at=now,
                updated_at=now,
            )
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not db.session.scalar(select(User.id).where(User.email == email)):
            raise  # a conflict on something else than the admin's email: not ours to hide
        log.info("admin %s was created by another process", email)
        return False
    log.info("admin %s created", email)
    return True
