"""Flask's own session (flash messages, the page a sign-in returns to, one-time secrets to show),
kept server-side with Flask-Session: on the configured Redis, else in the database.

The browser holds only a random id (``web_session`` cookie, HttpOnly, SameSite=Lax); the contents
never travel to the client (OWASP Session Management Cheat Sheet: session data stays on the server).
This is not the sign-in: who is signed in is the better-auth session cookie, shared with the API.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, session
from flask_session import Session
from flask_session.base import ServerSideSessionInterface
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from sqlalchemy import DateTime, Integer, LargeBinary, String, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, db

log = logging.getLogger(__name__)

COOKIE_NAME = "web_session"
#: A page session outlives no sign-in for long: it only carries flashes and pending steps.
LIFETIME = timedelta(hours=12)


class WebSession(Model):
    """One Flask session (table ``web_session``; migration ``app_0001_web_session``)."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    expiry: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class DatabaseSessionInterface(SqlAlchemySessionInterface):  # type: ignore[misc]
    """Flask-Session's SQLAlchemy backend on a table the migrations own.

    The stock ``__init__`` declares its own model on ``db.Model`` (twice for a second app, which
    SQLAlchemy refuses) and creates the table at start-up; here the model is declared once above and
    Alembic creates the table like every other.
    """

    def __init__(self, app: Flask) -> None:
        self.client = db
        self.sql_session_model = WebSession
        ServerSideSessionInterface.__init__(
            self, app, key_prefix="", use_signer=False, permanent=True, sid_length=32,
            serialization_format="msgpack", cleanup_n_requests=200,
        )

    def _cleanup_n_requests(self) -> None:
        """Housekeeping never fails a request: the stock cleanup retries with sleeps and raises, so
        one request in ``cleanup_n_requests`` answered 503 (even ``/healthz``) while the database
        was down. Here the delete runs once, and a failure is logged and left for a later request."""
        if not self.cleanup_n_requests or random.randrange(self.cleanup_n_requests):
            return
        try:
            db.session.execute(delete(WebSession).where(WebSession.expiry <= utcnow_naive()))
            db.session.commit()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("expired page sessions not deleted: %s", error.__class__.__name__)


def utcnow_naive() -> datetime:
    """Flask-Session stores ``expiry`` as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def init_session(app: Flask) -> None:
    """Install the server-side session on ``app`` (Redis when configured, else the database)."""
    from app.modules.auth.cookies import secure_cookies

    redis: Any = app.extensions.get("redis")
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=LIFETIME,
        SESSION_KEY_PREFIX="web:sess:",
    )
    with app.app_context():
        app.config["SESSION_COOKIE_SECURE"] = secure_cookies() if app.config["SETTINGS"].auth.secret else False
    if redis is not None:
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis)
        Session(app)
    else:
        app.session_interface = DatabaseSessionInterface(app)


def renew() -> None:
    """A new page-session id when who is signed in changes (sign-in, sign-out): an id planted in
    the browser before (session fixation) is worth nothing after (OWASP Session Management Cheat
    Sheet, "Renew the Session ID After Any Privilege Level Change"). The contents stay."""
    interface: Any = current_app.session_interface
    if isinstance(interface, ServerSideSessionInterface):
        if not session:
            session["renewed"] = True  # regenerate() leaves an empty session as it is
        interface.regenerate(session)
