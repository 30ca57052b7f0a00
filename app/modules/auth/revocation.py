"""The database is the truth for revocation; every cache is checked against it.

The problem: a session cache (Redis, or this process's memory) answers "valid" for a session that
the database no longer holds, after a sign-out, a ban, a role change or a revoked session, if the
cache missed the invalidation (Redis restarted from an old snapshot, ``FLUSHALL``, a failover to a
lagging replica, Redis down while the revocation was written) or if the token is stateless (JWT).

The design: a monotonic **revocation sequence** in the database.

- Every write that changes what a cached session or an issued JWT would answer records an event
  (:func:`note`) in the same transaction as the change: ``S`` a session ended, ``U`` a user changed
  (ban, role, password, profile), ``s`` a session's content changed (active organization, sliding
  expiry), ``u`` a user's memberships or sessions changed, ``K`` an API key changed or went. Just
  before commit the events take the next value of ``revocation_epoch.seq`` (an ``UPDATE ...
  RETURNING`` that locks that one row until commit, so events commit in sequence order) and are
  inserted into ``revocation_event``; on PostgreSQL a ``pg_notify('auth_revocation', ...)`` with
  the sequence and the events is sent with the commit.
- Every process keeps a :class:`RevocationState`: the highest sequence it knows (``known``) and,
  for each subject (``s:<session id>``, ``u:<user id>``, ``k:<api key id>``), the sequence of its latest event, over a
  horizon longer than any cache entry or JWT lives. It learns new events from a ``LISTEN`` thread
  on PostgreSQL (within milliseconds of the commit) and by polling on SQLite (before each use of a
  cache); the process that wrote an event applies it before its response leaves. A process that
  starts loads the events of the horizon.
- A cache entry records the sequence its filler knew *before* it read the database (``ep``) and
  when it was filled (``at``). It answers only while no event for its session or user has a
  higher sequence and it is younger than the cache TTL; otherwise the database is read. The filler
  cannot have known a sequence whose write it did not see, so a stale entry can never validate,
  whatever Redis lost. A JWT carries its session id (``sid``) and the sequence (``rev``) the same
  way, and is refused after an ``S`` or ``U`` event for its session or user (unless
  ``AUTH__JWT__STATELESS=true``).
- Redis is not needed for any of it: a revocation commits in the database and is applied (200)
  while Redis is down; the Redis stale markers written next to it are a best-effort shortcut.
- If the ``LISTEN`` connection is lost, requests poll until it is back; while the database itself
  is down no revocation can commit, so cached answers stay right (and polls are spaced by
  ``POLL_WHILE_DISCONNECTED``).
- Between a commit and its notification: every listener acknowledges the sequences it applied
  (``NOTIFY auth_revocation_ack``), and the revoking request answers only once every listening
  process acknowledged (at most ``ACK_TIMEOUT``); a process that did not (hung) finds the
  notification unread on its listener's socket and trusts no cache until it is applied. So the
  next request anywhere sees the revocation, also from this process's memory.
"""

from __future__ import annotations

import logging
import select as io_select
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

from app.core.outage import is_outage, warn_every
from app.core.proxies import unproxied
from app.modules.auth.models import RevocationEpoch, RevocationEvent, utcnow

__all__ = [
    "CHANNEL",
    "RevocationState",
    "RevocationUnknown",
    "catch_up",
    "known_epoch",
    "note",
    "revocation_state",
    "start_listener",
    "stop_listener",
]

log = logging.getLogger(__name__)

CHANNEL = "auth_revocation"
#: Each listener acknowledges the sequence it applied here (``"<backend pid>:<seq>"``).
ACK_CHANNEL = "auth_revocation_ack"
_LISTEN = f"LISTEN {CHANNEL}; LISTEN {ACK_CHANNEL}"
#: Longest a revoking request waits for every process to acknowledge, seconds.
ACK_TIMEOUT = 1.0
#: Event kinds that end a JWT too (the others only invalidate cached copies).
IDENTITY_KINDS = frozenset("SU")
KINDS = frozenset("SUsuK")
_PREFIXES = {"S": "s:", "s": "s:", "U": "u:", "u": "u:", "K": "k:"}
#: Seconds between two polls while the PostgreSQL listener is disconnected.
POLL_WHILE_DISCONNECTED = 0.2
#: Margin added to the horizon for clock differences between machines, seconds.
HORIZON_MARGIN = 120.0
_EXTENSION = "auth.revocations"
_PENDING = "auth.revocations.pending"
_COMMITTED = "auth.revocations.committed"


class RevocationUnknown(ConnectionError):
    """The revocation sequence was never loaded (the database was down since this process started):
    an outage, so "cannot tell", not "revoked"."""


@dataclass
class RevocationState:
    """What this process knows of the revocation sequence (one per app, shared by its threads)."""

    horizon: float
    listens: bool  # PostgreSQL: a LISTEN thread keeps it current
    known: int = -1  # -1: not loaded yet (no cache may answer)
    #: subject -> (seq of its latest event of any kind, seq of its latest S/U event)
    latest: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: (created monotonic, subject) in arrival order, to forget events past the horizon
    _order: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connected: bool = False
    #: The listener's socket: readable means a notification this process has not applied yet.
    fd: int = -1
    #: True while the listener has taken notifications off its socket and not applied them yet.
    applying: bool = False
    #: listener backend pid -> highest sequence it acknowledged (every process's listener)
    acks: dict[int, int] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    last_poll: float = 0.0
    poll_failed: bool = False
    poll_lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self.known >= 0

    def apply(self, rows: list[tuple[int, str, str]], through: int) -> None:
        """Learn events ``(seq, kind, subject)`` and that nothing up to ``through`` is missing."""
        now = time.monotonic()
        with self.lock:
            for seq, kind, subject in rows:
                any_seq, identity_seq = self.latest.get(subject, (0, 0))
                identity_seq = max(identity_seq, seq) if kind in IDENTITY_KINDS else identity_seq
                self.latest[subject] = (max(any_seq, seq), identity_seq)
                self._order.append((now, subject))
            if through > self.known:
                self.known = through
            self._forget(now)
        with self.changed:
            self.changed.notify_all()

    def wait_known(self, seq: int, timeout: float) -> bool:
        """Block until this process knows ``seq`` (its listener received it), at most ``timeout``."""
        with self.changed:
            return self.changed.wait_for(lambda: self.known >= seq or not self.connected, timeout)

    def undelivered(self) -> bool:
        """True when a notification waits on the listener's socket (not applied yet): caches must
        not answer from what this process knows until it is."""
        if self.applying:
            return True
        if self.fd < 0:
            return False
        try:
            readable, _, _ = io_select.select([self.fd], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _forget(self, now: float) -> None:
        cut = 0
        while cut < len(self._order) and now - self._order[cut][0] > self.horizon:
            cut += 1
        if cut:
            gone = {subject for _, subject in self._order[:cut]}
            del self._order[:cut]
            still = {subject for _, subject in self._order}
            for subject in gone - still:
                self.latest.pop(subject, None)

    def cache_valid(self, epoch: int, session_id: str, user_id: str) -> bool:
        """May a cached copy filled at sequence ``epoch`` answer for this session and user?"""
        if not self.loaded or epoch < 0:
            return False
        latest = self.latest
        return latest.get("s:" + session_id, (0, 0))[0] <= epoch and latest.get("u:" + user_id, (0, 0))[0] <= epoch

    def subject_valid(self, epoch: int, *subjects: str) -> bool:
        """May a copy filled at ``epoch`` answer for these subjects (``"k:<api key id>"``...)?"""
        if not self.loaded or epoch < 0:
            return False
        latest = self.latest
        return all(latest.get(subject, (0, 0))[0] <= epoch for subject in subjects)

    def token_revoked(self, epoch: int, session_id: str | None, user_id: str) -> bool:
        """Was a token issued at sequence ``epoch`` revoked since (its session ended, its user changed)?"""
        latest = self.latest
        if session_id is not None and latest.get("s:" + session_id, (0, 0))[1] > epoch:
            return True
        return latest.get("u:" + user_id, (0, 0))[1] > epoch


def revocation_state(app: Flask | None = None) -> RevocationState:
    app = app or unproxied(current_app)
    state: RevocationState | None = app.extensions.get(_EXTENSION)
    if state is None:
        state = app.extensions.setdefault(_EXTENSION, _new_state(app))
    return state


def _new_state(app: Flask) -> RevocationState:
    from app.modules.auth.sessions import CACHE_TTL

    jwt_lifetime = 0.0
    from app.core.settings import loaded
    from app.modules.auth.jwt.settings import JwtSettings

    jwt_settings = loaded(app, JwtSettings)
    if jwt_settings is not None:
        jwt_lifetime = float(jwt_settings.expires_in + jwt_settings.leeway)
    horizon = max(float(CACHE_TTL), jwt_lifetime) + HORIZON_MARGIN
    listens = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    return RevocationState(horizon=horizon, listens=listens)


# -- writing -------------------------------------------------------------------------------------


def note(kind: str, subjects: list[str] | set[str] | tuple[str, ...]) -> None:
    """Record that ``subjects`` (session ids for ``S``/``s``, user ids for ``U``/``u``) changed, in
    the current transaction of ``db.session``; written with the commit."""
    from app.extensions import db

    if kind not in KINDS:
        raise ValueError(f"unknown revocation kind {kind!r}")
    prefix = _PREFIXES[kind]
    session = db.session()
    pending: list[tuple[str, str]] = session.info.setdefault(_PENDING, [])
    pending.extend((kind, prefix + subject) for subject in subjects if subject)
    session.info.setdefault(_EXTENSION, revocation_state())


def _before_commit(session: OrmSession) -> None:
    pending: list[tuple[str, str]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    seq = session.execute(
        update(RevocationEpoch).where(RevocationEpoch.id == 1).values(seq=RevocationEpoch.seq + 1)
        .returning(RevocationEpoch.seq)
    ).scalar()
    if seq is None:  # the migration seeds the row; a table emptied by hand starts again
        seq = 1
        session.execute(insert(RevocationEpoch).values(id=1, seq=seq))
    now = utcnow()
    unique = list(dict.fromkeys(pending))
    session.execute(
        insert(RevocationEvent),
        [{"seq": seq, "kind": kind, "subject": subject, "created_at": now} for kind, subject in unique],
    )
    if session.get_bind().dialect.name == "postgresql":
        payload = f"{seq}|" + ",".join(kind + subject for kind, subject in unique)
        if len(payload) > 7900:  # PostgreSQL's limit is 8000 bytes: listeners read the table instead
            payload = str(seq)
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})
    session.info[_COMMITTED] = (seq, [(seq, kind, subject) for kind, subject in unique])


def _after_commit(session: OrmSession) -> None:
    committed = session.info.pop(_COMMITTED, None)
    state: RevocationState | None = session.info.pop(_EXTENSION, None)
    if committed is not None and state is not None:
        seq, rows = committed
        # Our own events count at once; ``known`` moves only with the listener or the poll, which
        # also bring the other processes' events below ``seq``.
        state.apply(rows, through=state.known)
        if state.listens and state.connected:
            _wait_for_every_listener(session, state, seq)


def _wait_for_every_listener(session: OrmSession, state: RevocationState, seq: int) -> None:
    """The answer to a revocation leaves only once every process applied it: each process's
    listener acknowledges on ``ACK_CHANNEL``, and the listeners are the database's sessions whose
    last statement is our ``LISTEN``. A process that does not acknowledge within ``ACK_TIMEOUT``
    (hung, or gone) still finds the notification unread on its socket before trusting a cache."""
    try:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        with engine.connect() as connection:
            pids = set(connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = :q"),
                {"q": _LISTEN},
            ).scalars())
    except Exception as error:  # noqa: BLE001 - the revocation is committed; this only waits
        log.warning("revocation %s: listeners not enumerated: %s", seq, error)
        pids = set()

    def acknowledged() -> bool:
        return state.known >= seq and all(state.acks.get(pid, 0) >= seq for pid in pids)

    with state.changed:
        if not state.changed.wait_for(lambda: acknowledged() or not state.connected, ACK_TIMEOUT):
            missing = sorted(pid for pid in pids if state.acks.get(pid, 0) < seq)
            log.warning("revocation %s not acknowledged within %.1fs by listeners %s", seq, ACK_TIMEOUT, missing)


def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTED, None)
    session.info.pop(_EXTENSION, None)


event.listen(OrmSession, "before_commit", _before_commit)
event.listen(OrmSession, "after_commit", _after_commit)
event.listen(OrmSession, "after_soft_rollback", lambda session, _previous: _after_rollback(session))


# -- reading -------------------------------------------------------------------------------------


def _load_rows(connection: Any, state: RevocationState) -> tuple[list[tuple[int, str, str]], int]:
    """Events this process has not seen (all of the horizon when it knows none), and the sequence."""
    # What this process knew *before* the read: the listener (or another poll) may move ``known``
    # past ``through`` while this read runs, which is no sign of a restored database.
    known_before = state.known
    through = connection.execute(select(RevocationEpoch.seq).where(RevocationEpoch.id == 1)).scalar() or 0
    if through < known_before:  # the sequence went back (database restored or emptied): start over
        with state.lock:
            state.known = -1
            state.latest.clear()
            state._order.clear()
    if state.loaded:
        if through <= state.known:
            return [], through
        where = RevocationEvent.seq > state.known
    else:
        where = RevocationEvent.created_at > utcnow() - timedelta(seconds=state.horizon)
    rows = connection.execute(
        select(RevocationEvent.seq, RevocationEvent.kind, RevocationEvent.subject)
        .where(where, RevocationEvent.seq <= through).order_by(RevocationEvent.seq)
    ).all()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows], int(through)


def poll(state: RevocationState) -> None:
    """Read new events with the request's database session (SQLite, or the listener is down)."""
    from app.extensions import db

    rows, through = _load_rows(db.session, state)
    state.apply(rows, through)
    state.last_poll = time.monotonic()


def catch_up(state: RevocationState) -> None:
    """Read the events a notification waiting unapplied on the listener announces (see
    :meth:`RevocationState.undelivered`). One thread reads for all: a thread that waited while
    another read after it began does not read again."""
    began = time.monotonic()
    with state.poll_lock:
        if state.last_poll >= began or not state.undelivered():
            return
        poll(state)


def known_epoch() -> int:
    """The sequence a cache fill or a JWT records: what this process knows, current enough.

    Without a connected listener (SQLite; PostgreSQL while the listener connects) it polls first,
    with the request's connection. A database outage during the poll leaves the state as it was
    (no revocation can commit while the database is down) and the next poll waits
    ``POLL_WHILE_DISCONNECTED`` seconds. Returns -1 when nothing was
    ever loaded (no cache may answer).
    """
    state = revocation_state()
    if not (state.listens and state.connected):
        interval = POLL_WHILE_DISCONNECTED if state.poll_failed else 0.0
        if not state.loaded or time.monotonic() - state.last_poll >= interval:
            try:
                poll(state)
                state.poll_failed = False
            except Exception as error:
                if not is_outage(error):
                    raise
                from app.core.outage import rollback_quietly

                rollback_quietly()
                state.poll_failed = True
                state.last_poll = time.monotonic()
                warn_every("revocation-poll", 5.0, "revocation sequence not polled, database unavailable: %s", error)
    return state.known


# -- the PostgreSQL listener ----------------------------------------------------------------------


def _conninfo(app: Flask) -> str:
    from sqlalchemy import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _listen(app: Flask, state: RevocationState) -> None:
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    conninfo = _conninfo(app)
    # A one-connection engine for the catch-up reads, so they are the same statements as the poll.
    engine = create_engine(
        app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool, connect_args={"connect_timeout": 3}
    )
    backoff = 0.2
    while not state.stop.is_set():
        try:
            # No query on this connection but LISTEN: a notification read as part of a query's
            # answer would wait, unseen, in the driver. TCP keepalives notice a vanished server.
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=3, keepalives=1, keepalives_idle=5,
                                 keepalives_interval=2, keepalives_count=3) as conn:
                conn.execute(_LISTEN)
                state.fd = conn.pgconn.socket
                me = conn.info.backend_pid
                with engine.connect() as reader:
                    rows, through = _load_rows(reader, state)
                    state.apply(rows, through)
                    reader.rollback()
                    state.connected = True
                    backoff = 0.2
                    while not state.stop.is_set():
                        readable, _, _ = io_select.select([state.fd], [], [], 1.0)
                        if readable:
                            # Flag first, then consume: a request that checks undelivered() sees
                            # either the bytes on the socket or the flag, never neither.
                            state.applying = True
                            before = state.known
                            try:
                                for notify in conn.notifies(timeout=0.0):
                                    if notify.channel == ACK_CHANNEL:
                                        _record_ack(state, notify.payload)
                                    elif not _apply_payload(state, notify.payload):
                                        rows, through = _load_rows(reader, state)
                                        state.apply(rows, through)
                                        reader.rollback()
                            finally:
                                state.applying = False
                            if state.known > before:
                                reader.execute(text("SELECT pg_notify(:channel, :payload)"),
                                               {"channel": ACK_CHANNEL, "payload": f"{me}:{state.known}"})
                                reader.commit()

        except Exception as error:  # noqa: BLE001 - reconnect whatever happened
            if state.connected:
                log.warning("revocation listener disconnected (requests poll meanwhile): %s", error)
            else:
                warn_every("revocation-listener", 60.0, "revocation listener cannot connect (requests poll): %s", error)
            state.connected = False
            state.fd = -1
            with state.changed:
                state.changed.notify_all()
            state.stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
    state.connected = False
    engine.dispose()


def _record_ack(state: RevocationState, payload: str) -> None:
    pid, _, seq = payload.partition(":")
    try:
        pid_value, seq_value = int(pid), int(seq)
    except ValueError:
        return
    with state.changed:
        if seq_value > state.acks.get(pid_value, 0):
            state.acks[pid_value] = seq_value
        state.changed.notify_all()


def _apply_payload(state: RevocationState, payload: str) -> bool:
    """Apply a notification's events directly when it is the next sequence; False: read the table."""
    head, _, body = payload.partition("|")
    try:
        seq = int(head)
    except ValueError:
        return False
    if seq <= state.known:
        return True
    if seq != state.known + 1 or not body:
        return False
    rows = [(seq, item[0], item[1:]) for item in body.split(",") if len(item) > 3]
    state.apply(rows, through=seq)
    return True


def start_listener(app: Flask) -> None:
    """Start the ``LISTEN`` thread of this process (PostgreSQL only; SQLite polls)."""
    state = revocation_state(app)
    if not state.listens or (state.thread is not None and state.thread.is_alive()):
        return
    state.stop.clear()
    thread = threading.Thread(target=_listen, args=(app, state), name="auth-revocation-listener", daemon=True)
    state.thread = thread
    thread.start()


def stop_listener(app: Flask) -> bool:
    """Stop this process's listener; True when one was running."""
    state: RevocationState | None = app.extensions.get(_EXTENSION)
    if state is None or state.thread is None:
        return False
    state.stop.set()
    state.thread.join(timeout=5)
    state.thread = None
    return True
