"""Server-side sessions: the database is the truth, Redis (when configured) a cache in front of it.

Why not better-auth's cookie cache: it keeps a revoked session alive until the cache expires (their
issue #6893). Here every write that changes what a cached session would answer (revocation,
sign-out, ban, password or profile change) first overwrites the affected cache entries with a
short-lived *stale* marker, then commits. Readers that meet the marker go to the database, and
cache fills use ``SET NX`` so a reader that raced the write cannot put the old answer back. The
result: the next request in any process sees the change, with one Redis round trip per request on
the hot path (OWASP Session Management Cheat Sheet: server-side invalidation).

Tokens are stored as their SHA-256, never in clear (a leaked table yields no usable session).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, delete, select

from app.extensions import db
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.models import Session, User, utcnow
from app.modules.auth.serializers import iso, session_json, user_json

log = logging.getLogger(__name__)

CACHE_PREFIX = "auth:sess:"
#: A cached entry lives at most this long (and never past the session's expiry).
CACHE_TTL = 300
#: How long a stale marker blocks cache fills: longer than any request that read before the write.
STALE_TTL = 60
_STALE = b"-"
DONT_REMEMBER_EXPIRES_IN = 86400


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    """A valid session and its user, as JSON-ready dicts (the same from the cache or the database)."""

    token: str
    token_hash: str
    session: dict[str, Any]  # session_json without "token"
    user: dict[str, Any]  # user_json
    expires_at: float  # epoch seconds
    dont_remember: bool
    #: What plugins' session enrichers added (e.g. the default organization), cached with the entry.
    ext: dict[str, Any]

    @property
    def user_id(self) -> str:
        user_id: str = self.user["id"]
        return user_id

    @property
    def session_id(self) -> str:
        session_id: str = self.session["id"]
        return session_id

    def session_with_token(self) -> dict[str, Any]:
        return {**self.session, "token": self.token}


def _redis() -> Any:
    return current_app.extensions.get("redis")


def _settings() -> Any:
    return current_app.config["SETTINGS"]


def _entry(session: Session, user: User, ext: dict[str, Any]) -> dict[str, Any]:
    body = session_json(session, "")
    body.pop("token")
    return {
        "session": body,
        "user": user_json(user),
        "exp": session.expires_at.timestamp(),
        "dr": bool(session.dont_remember),
        "ext": ext,
    }


def _from_entry(token: str, token_hash: str, entry: dict[str, Any]) -> ResolvedSession:
    return ResolvedSession(
        token=token,
        token_hash=token_hash,
        session=entry["session"],
        user=entry["user"],
        expires_at=entry["exp"],
        dont_remember=entry["dr"],
        ext=entry.get("ext", {}),
    )


def _user_usable(user: dict[str, Any], now: datetime) -> bool:
    if not user.get("banned"):
        return True
    expires = user.get("banExpires")
    return expires is not None and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now


def _load_statement() -> tuple[Select[Any], list[str]]:
    """Session, user and the plugins' extra columns in one statement, built once per app.

    Plugins add what every request would otherwise look up again as scalar subqueries
    (``app.extensions["auth.session_columns"]``: name -> expression factory; the organization
    plugin: the default organization), so a database lookup stays one round trip. The values are
    cached with the entry; whatever changes them must invalidate the user's sessions.
    """
    cached: tuple[Select[Any], list[str]] | None = current_app.extensions.get("auth.session_statement")
    if cached is None:
        columns: dict[str, Callable[[], Any]] = current_app.extensions.get("auth.session_columns", {})
        names = list(columns)
        stmt = (
            select(Session, User, *(columns[name]().label(name) for name in names))
            .join(User, Session.user_id == User.id)
            .where(Session.token == bindparam("token_hash"))
        )
        cached = (stmt, names)
        current_app.extensions["auth.session_statement"] = cached
    return cached


def _load(token_hash: str) -> dict[str, Any] | None:
    stmt, names = _load_statement()
    row = db.session.execute(stmt, {"token_hash": token_hash}).first()
    if row is None:
        return None
    return _entry(row[0], row[1], {name: row[index + 2] for index, name in enumerate(names)})


def resolve_token(token: str) -> ResolvedSession | None:
    """The live session behind a raw token, or None (unknown, expired, or its user banned)."""
    if not token or len(token) > 256:
        return None
    token_hash = hash_token(token)
    now = utcnow()
    redis = _redis()
    entry: dict[str, Any] | None = None
    stale = False
    if redis is not None:
        try:
            cached = redis.get(CACHE_PREFIX + token_hash)
        except Exception as error:  # noqa: BLE001 - Redis down: the database still answers
            log.warning("session cache unavailable: %s", error)
            redis, cached = None, None
        if cached == _STALE:
            stale = True
        elif cached:
            entry = json.loads(cached)
    if entry is None:
        entry = _load(token_hash)
        if entry is None:
            return None
        if redis is not None and not stale:
            ttl = int(min(CACHE_TTL, entry["exp"] - now.timestamp()))
            if ttl > 0:
                try:
                    redis.set(CACHE_PREFIX + token_hash, json.dumps(entry, separators=(",", ":")), ex=ttl, nx=True)
                except Exception as error:  # noqa: BLE001
                    log.warning("session cache write failed: %s", error)
    if entry["exp"] <= now.timestamp() or not _user_usable(entry["user"], now):
        return None
    return _from_entry(token, token_hash, entry)


def mark_stale(token_hashes: list[str]) -> None:
    """Make every process read these sessions from the database for the next while."""
    redis = _redis()
    if redis is None or not token_hashes:
        return
    pipe = redis.pipeline(transaction=False)
    for token_hash in token_hashes:
        pipe.set(CACHE_PREFIX + token_hash, _STALE, ex=STALE_TTL)
    pipe.execute()


def _user_token_hashes(user_id: str) -> list[str]:
    return list(db.session.scalars(select(Session.token).where(Session.user_id == user_id)))


def invalidate_user(user_id: str) -> None:
    """The user changed (profile, role, ban): cached copies of every session of theirs are stale."""
    mark_stale(_user_token_hashes(user_id))


def create_session(
    user: User,
    *,
    ip_address: str,
    user_agent: str,
    dont_remember: bool = False,
    impersonated_by: str | None = None,
    expires_in: int | None = None,
) -> tuple[Session, str]:
    """A new session row (added, not committed) and its raw token, to be put in the cookie."""
    settings = _settings()
    if expires_in is None:
        expires_in = DONT_REMEMBER_EXPIRES_IN if dont_remember else settings.auth.session.expires_in
    token = generate_id(32)
    now = utcnow()
    session = Session(
        id=generate_id(32),
        token=hash_token(token),
        user_id=user.id,
        expires_at=now + timedelta(seconds=expires_in),
        created_at=now,
        updated_at=now,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:1024],
        dont_remember=dont_remember,
        impersonated_by=impersonated_by,
    )
    db.session.add(session)
    return session, token


def revoke_by_hash(token_hashes: list[str]) -> None:
    if not token_hashes:
        return
    mark_stale(token_hashes)
    db.session.execute(delete(Session).where(Session.token.in_(token_hashes)))


def revoke_user_sessions(user_id: str, *, keep_hash: str | None = None) -> int:
    """Delete every session the user holds (but ``keep_hash``): their own, and those they opened as
    someone else (admin impersonation), which must not outlive their ban, deletion or password
    change. Returns how many died."""
    held = db.session.scalars(
        select(Session.token).where((Session.user_id == user_id) | (Session.impersonated_by == user_id))
    )
    hashes = [h for h in held if h != keep_hash]
    revoke_by_hash(hashes)
    return len(hashes)


def needs_refresh(resolved: ResolvedSession, now: datetime | None = None) -> bool:
    """better-auth's sliding expiry: at most once per ``updateAge``, never for rememberMe=false."""
    settings = _settings().auth.session
    if resolved.dont_remember or settings.update_age <= 0:
        return False
    now_ts = (now or utcnow()).timestamp()
    return bool(resolved.expires_at - settings.expires_in + settings.update_age <= now_ts)


def refresh(resolved: ResolvedSession) -> ResolvedSession:
    """Slide the session's expiry forward; the caller commits and re-sets the cookie."""
    settings = _settings().auth.session
    now = utcnow()
    expires = now + timedelta(seconds=settings.expires_in)
    session = db.session.get(Session, resolved.session_id)
    if session is None:
        return resolved
    mark_stale([resolved.token_hash])
    session.expires_at = expires
    session.updated_at = now
    body = {**resolved.session, "expiresAt": iso(expires), "updatedAt": iso(now)}
    return ResolvedSession(
        token=resolved.token,
        token_hash=resolved.token_hash,
        session=body,
        user=resolved.user,
        expires_at=expires.timestamp(),
        dont_remember=resolved.dont_remember,
        ext=resolved.ext,
    )


def is_fresh(resolved: ResolvedSession) -> bool:
    fresh_age = _settings().auth.session.fresh_age
    if fresh_age <= 0:
        return True
    created = datetime.fromisoformat(resolved.session["createdAt"].replace("Z", "+00:00"))
    return created + timedelta(seconds=fresh_age) > datetime.now(UTC)
