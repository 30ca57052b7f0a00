"""Server-side sessions: the database is the truth; this process's memory and Redis (when
configured) are caches in front of it, and neither may answer for a session after it changed.

Every write that changes what a cached session would answer (revocation, sign-out, ban, password or
profile change, active organization, membership) records a revocation event in the database with
the change (:mod:`app.modules.auth.revocation`); each cached copy carries the revocation sequence
its filler knew before reading the database and answers only while no later event names its
session or user. That holds after Redis loses writes (restart from an old snapshot, ``FLUSHALL``,
failover) and with Redis down. On top of it, the writer overwrites the Redis copies with a
short-lived *stale* marker (best effort: Redis may be down), and Redis fills use ``SET NX`` so a
reader that raced the write cannot put the old answer back (OWASP Session Management Cheat Sheet:
server-side invalidation).

Cost on the hot path: a dictionary lookup when this process has the session in memory, else one
Redis round trip, else one indexed join.

Tokens are stored as their SHA-256, never in clear (a leaked table yields no usable session).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, delete, select

from app.core.outage import warn_every
from app.core.redis import REDIS_ERRORS
from app.extensions import db
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.models import Session, User, utcnow
from app.modules.auth.revocation import RevocationState, known_epoch, note, revocation_state
from app.modules.auth.serializers import iso, session_json, user_json
from app.modules.auth.state import auth_state

log = logging.getLogger(__name__)

CACHE_PREFIX = "auth:sess:"
#: A cached entry lives at most this long (and never past the session's expiry).
CACHE_TTL = 300
#: This process keeps at most this many sessions in memory, each at most ``MEMORY_TTL`` seconds.
MEMORY_SIZE = 10_000
MEMORY_TTL = 60.0
_MEMORY = "auth.sessions.memory"
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
    #: The revocation sequence this copy reflects (a JWT issued from it carries it as ``rev``).
    epoch: int = -1

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


def _entry(session: Session, user: User, ext: dict[str, Any], epoch: int) -> dict[str, Any]:
    body = session_json(session, "")
    body.pop("token")
    return {
        "session": body,
        "user": user_json(user),
        "exp": session.expires_at.timestamp(),
        "dr": bool(session.dont_remember),
        "ext": ext,
        "ep": epoch,  # the revocation sequence known before the database was read
        "at": time.time(),  # when: no copy answers past CACHE_TTL, whatever Redis kept
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
        epoch=entry.get("ep", -1),
    )


def _trusted(entry: dict[str, Any], state: RevocationState) -> bool:
    """May this cached copy answer? Only if no revocation event since it was filled names it."""
    try:
        epoch, filled_at = int(entry["ep"]), float(entry["at"])
        session_id, user_id = entry["session"]["id"], entry["user"]["id"]
    except (KeyError, TypeError, ValueError):
        return False  # an entry from before the revocation sequence: never trusted
    if time.time() - filled_at > CACHE_TTL:
        return False
    return state.cache_valid(epoch, session_id, user_id)


def _memory() -> dict[str, tuple[dict[str, Any], float]] | None:
    """This process's session copies, or None when ``AUTH__SESSION__MEMORY_CACHE=false``."""
    extensions = current_app.extensions
    memory: dict[str, tuple[dict[str, Any], float]] | bool | None = extensions.get(_MEMORY)
    if memory is None:
        wanted = _settings().auth.session.memory_cache
        memory = extensions.setdefault(_MEMORY, {} if wanted else False)
    return memory if isinstance(memory, dict) else None


def _remember(memory: dict[str, tuple[dict[str, Any], float]], token_hash: str, entry: dict[str, Any]) -> None:
    if len(memory) >= MEMORY_SIZE:
        try:
            memory.pop(next(iter(memory)), None)  # the oldest insertion
        except (StopIteration, RuntimeError):
            pass
    memory[token_hash] = (entry, time.monotonic() + MEMORY_TTL)


def _user_usable(user: dict[str, Any], now: datetime) -> bool:
    if not user.get("banned"):
        return True
    expires = user.get("banExpires")
    return expires is not None and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now


def _load_statement() -> tuple[Select[Any], list[str]]:
    """Session, user and the plugins' extra columns in one statement, built once per app.

    Plugins add what every request would otherwise look up again as scalar subqueries
    (``AuthState.session_columns``: name -> expression factory; the organization
    plugin: the default organization), so a database lookup stays one round trip. The values are
    cached with the entry; whatever changes them must invalidate the user's sessions.
    """
    state = auth_state()
    cached: tuple[Select[Any], list[str]] | None = state.session_statement
    if cached is None:
        columns: dict[str, Callable[[], Any]] = state.session_columns
        names = list(columns)
        stmt = (
            select(Session, User, *(columns[name]().label(name) for name in names))
            .join(User, Session.user_id == User.id)
            .where(Session.token == bindparam("token_hash"))
        )
        cached = (stmt, names)
        state.session_statement = cached
    return cached


def _load(token_hash: str, epoch: int) -> dict[str, Any] | None:
    stmt, names = _load_statement()
    row = db.session.execute(stmt, {"token_hash": token_hash}).first()
    if row is None:
        return None
    return _entry(row[0], row[1], {name: row[index + 2] for index, name in enumerate(names)}, epoch)


def resolve_token(token: str) -> ResolvedSession | None:
    """The live session behind a raw token, or None (unknown, expired, or its user banned).

    Raises when the database is unreachable and no trusted cached copy answers: the caller tells
    "cannot tell" from "no session" (:mod:`app.modules.auth.identity`).
    """
    if not token or len(token) > 256:
        return None
    token_hash = hash_token(token)
    state = revocation_state()
    epoch = known_epoch()  # before any database read: what a copy filled now reflects
    now_ts = time.time()
    memory = _memory()
    entry: dict[str, Any] | None = None
    if memory is not None:
        held = memory.get(token_hash)
        if held is not None:
            if held[1] > time.monotonic() and not state.undelivered() and _trusted(held[0], state):
                entry = held[0]
            else:
                memory.pop(token_hash, None)
    if entry is None:
        entry = _from_redis(token_hash, state, epoch)
        if entry is not None and memory is not None:
            _remember(memory, token_hash, entry)
    if entry is None:
        return None
    if entry["exp"] <= now_ts or not _user_usable(entry["user"], utcnow()):
        return None
    return _from_entry(token, token_hash, entry)


def _from_redis(token_hash: str, state: RevocationState, epoch: int) -> dict[str, Any] | None:
    """The entry from Redis when trusted, else from the database (then cached in Redis)."""
    redis = _redis()
    key = CACHE_PREFIX + token_hash
    cached: bytes | None = None
    if redis is not None:
        try:
            cached = redis.get(key)
        except REDIS_ERRORS as error:  # Redis down: the database still answers
            warn_every("session-cache-read", 5.0, "session cache unavailable, reading the database: %s", error)
            redis = None
    stale = cached == _STALE
    replace = False
    if cached and not stale:
        entry: dict[str, Any] | None = json.loads(cached)
        if entry is not None and not state.undelivered() and _trusted(entry, state):
            return entry
        replace = True  # an untrusted copy (Redis lost a write): overwrite it
    entry = _load(token_hash, epoch)
    if redis is None or stale:
        return entry
    try:
        if entry is None:
            if replace:
                redis.delete(key)
        else:
            ttl = int(min(CACHE_TTL, entry["exp"] - time.time()))
            if ttl > 0 and epoch >= 0:
                redis.set(key, json.dumps(entry, separators=(",", ":")), ex=ttl, nx=not replace)
    except REDIS_ERRORS as error:
        warn_every("session-cache-write", 5.0, "session cache write failed: %s", error)
    return entry


def mark_stale(token_hashes: list[str]) -> None:
    """Best effort: make every process skip Redis's copies of these sessions for the next while.

    Correctness does not depend on it (the revocation events do); it fails quietly when Redis is
    down, and the write it accompanies goes on.
    """
    memory = current_app.extensions.get(_MEMORY)
    if isinstance(memory, dict):
        for token_hash in token_hashes:
            memory.pop(token_hash, None)
    redis = _redis()
    if redis is None or not token_hashes:
        return
    try:
        pipe = redis.pipeline(transaction=False)
        for token_hash in token_hashes:
            pipe.set(CACHE_PREFIX + token_hash, _STALE, ex=STALE_TTL)
        pipe.execute()
    except REDIS_ERRORS as error:  # the database holds the truth
        warn_every("session-cache-mark", 5.0, "session cache not marked stale (revocation still applies): %s", error)


def _user_token_hashes(user_id: str) -> list[str]:
    return list(db.session.scalars(select(Session.token).where(Session.user_id == user_id)))


def invalidate_user(user_id: str) -> None:
    """The user changed (profile, role, ban, password): cached copies of every session of theirs
    and the JWTs issued to them stop answering, in every process."""
    note("U", [user_id])
    mark_stale(_user_token_hashes(user_id))


def session_changed(resolved: ResolvedSession) -> None:
    """The session's content changed (active organization, expiry): cached copies are stale; JWTs
    issued from it stay valid."""
    note("s", [resolved.session_id])
    mark_stale([resolved.token_hash])


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
    """End these sessions (not committed): the rows go, and a revocation event for each goes with
    them, so no cached copy and no JWT of theirs answers again."""
    if not token_hashes:
        return
    note("S", list(db.session.scalars(select(Session.id).where(Session.token.in_(token_hashes)))))
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
    note("u", [user_id])  # cached copies of their API keys too (their JWTs die with each session)
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
    session_changed(resolved)
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
        epoch=resolved.epoch,
    )


def is_fresh(resolved: ResolvedSession) -> bool:
    fresh_age = _settings().auth.session.fresh_age
    if fresh_age <= 0:
        return True
    created = datetime.fromisoformat(resolved.session["createdAt"].replace("Z", "+00:00"))
    return created + timedelta(seconds=fresh_age) > datetime.now(UTC)
