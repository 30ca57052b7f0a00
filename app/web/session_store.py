"""Flask's own session (flash messages, the page a sign-in returns to, one-time secrets to show),
kept server-side with Flask-Session: on the configured Redis, else in the database.

Redis is an accelerator here as everywhere: while it fails (or its circuit breaker is open), page
sessions are read from and written to the database table (:class:`ResilientRedisSessionInterface`).
Expired rows of that table are deleted by page requests, in one statement that a database outage
only postpones.

The browser holds only a random id (``web_session`` cookie, HttpOnly, SameSite=Lax); the contents
never travel to the client (OWASP Session Management Cheat Sheet: session data stays on the server).
This is not the sign-in: who is signed in is the better-auth session cookie, shared with the API.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from sqlalchemy import DateTime, Integer, LargeBinary, String, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.outage import warn_every
from app.core.redis import REDIS_ERRORS
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
        if not self.cleanup_n_requests or request.path.startswith("/api/"):
            return  # only pages make page sessions; API requests never pay for their housekeeping
        if random.randrange(self.cleanup_n_requests):
            return
        try:
            db.session.execute(delete(WebSession).where(WebSession.expiry <= utcnow_naive()))
            db.session.commit()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("expired page sessions not deleted: %s", error.__class__.__name__)


class ResilientRedisSessionInterface(RedisSessionInterface):  # type: ignore[misc]
    """Flask-Session's Redis backend, falling back to the database store while Redis fails.

    The page session carries the CSRF secret of every form: losing it during a Redis outage would
    refuse every form post (the sign-in too). So a session Redis cannot read or write (an error, or
    the circuit breaker open) is read from and written to the database table instead. Only then:
    while Redis answers, the database is never asked (an unknown id costs no query), and a session
    written to the table during an outage is not found once Redis is back (a new one starts).
    """

    def __init__(self, app: Flask, client: Any) -> None:
        super().__init__(app, client=client, key_prefix="web:sess:", use_signer=False, permanent=True,
                         sid_length=32, serialization_format="msgpack")
        self.fallback = DatabaseSessionInterface(app)

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] | None = super()._retrieve_session_data(store_id)
        except REDIS_ERRORS as error:
            warn_every("web-session-redis", 60.0, "page sessions read from the database, Redis fails: %s", error)
            try:
                data = self.fallback._retrieve_session_data(store_id)
            except SQLAlchemyError:
                db.session.rollback()
                data = None  # both stores down: a new page session, the request goes on
        return data

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        try:
            super()._upsert_session(session_lifetime, session, store_id)
        except REDIS_ERRORS as error:
            warn_every("web-session-redis", 60.0, "page sessions kept in the database, Redis fails: %s", error)
            self.fallback._upsert_session(session_lifetime, session, store_id)

    def _delete_session(self, store_id: str) -> None:
        try:
            super()._delete_session(store_id)
        except REDIS_ERRORS as error:
            warn_every("web-session-redis", 60.0, "page session deleted in the database, Redis fails: %s", error)
            self.fallback._delete_session(store_id)


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
    )
    with app.app_context():
        app.config["SESSION_COOKIE_SECURE"] = secure_cookies() if app.config["SETTINGS"].auth.secret else False
    if redis is not None:
        app.session_interface = ResilientRedisSessionInterface(app, redis)
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
