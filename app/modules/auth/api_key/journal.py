"""``lastRequest`` of keys whose requests are not counted, written in batches instead of per request.

better-auth writes ``lastRequest: now`` on every request of a key whose rate limit is off (globally
or for the key): one ``UPDATE`` and a commit on one hot row per request, which is what made an API
key cost 3-4 statements a request. Here each process notes the time of the key's latest request in
memory (:func:`record`) and a thread of the process writes them every ``FLUSH_INTERVAL`` seconds in
one statement, and at shutdown (:func:`close_journal`, from the auth module's ``on_close``).

What stays exact: the stored value is the time of the key's latest request, whichever process
served it (the write only moves ``lastRequest`` forward, so processes flushing in any order agree).
What is delayed: other processes see it up to ``FLUSH_INTERVAL`` seconds late (this process's own
``get``/``list`` answers include what it has not written yet: :func:`pending`). What can be lost: the
last interval's times of a process killed without shutdown (``SIGKILL``, a crash); a database
outage keeps them for the next flush. Counted keys (a per-key rate limit) keep their window in
Redis or in the row, exact at each request (:mod:`.usage`); this is only the uncounted timestamp.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import bindparam, or_, update

from app.core.outage import warn_every
from app.core.proxies import unproxied
from app.extensions import db
from app.modules.auth.api_key.models import ApiKey

__all__ = ["FLUSH_INTERVAL", "close_journal", "flush", "pending", "record"]

log = logging.getLogger(__name__)

#: Seconds between two writes of a process's pending ``lastRequest`` times.
FLUSH_INTERVAL = 5.0
_EXTENSION = "auth.api_key.journal"


@dataclass
class _Journal:
    pid: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: key id -> the latest request time this process served and did not write yet
    times: dict[str, datetime] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def _journal(app: Flask) -> _Journal:
    journal: _Journal | None = app.extensions.get(_EXTENSION)
    if journal is None or journal.pid != os.getpid():  # a forked worker starts its own
        journal = _Journal(os.getpid())
        app.extensions[_EXTENSION] = journal
    return journal


def record(key_id: str, when: datetime) -> None:
    """Note a request of the key at ``when``; written within ``FLUSH_INTERVAL`` seconds."""
    app: Flask = unproxied(current_app)
    journal = _journal(app)
    with journal.lock:
        held = journal.times.get(key_id)
        if held is None or held < when:
            journal.times[key_id] = when
        if journal.thread is None:
            journal.thread = threading.Thread(target=_run, args=(app, journal), name="api-key-journal",
                                              daemon=True)
            journal.thread.start()


def pending(ids: Iterable[str]) -> dict[str, datetime]:
    """This process's unwritten ``lastRequest`` times of these keys."""
    journal: _Journal | None = current_app.extensions.get(_EXTENSION)
    if journal is None or not journal.times:
        return {}
    with journal.lock:
        return {key_id: journal.times[key_id] for key_id in ids if key_id in journal.times}


_TABLE = ApiKey.__table__
#: Core, not ORM: one executemany that only ever moves ``lastRequest`` forward.
_FORWARD = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("key_id"),
           or_(_TABLE.c.lastRequest.is_(None), _TABLE.c.lastRequest < bindparam("when")))
    .values({_TABLE.c.lastRequest: bindparam("when")})
)


def flush(app: Flask) -> int:
    """Write this process's pending times now (one statement); returns how many keys. On a database
    error they stay pending for the next flush."""
    journal = _journal(app)
    with journal.lock:
        taken, journal.times = journal.times, {}
    if not taken:
        return 0
    with app.app_context():
        try:
            db.session.execute(_FORWARD, [{"key_id": k, "when": w} for k, w in taken.items()])
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - kept for the next flush, whatever went wrong
            db.session.rollback()
            with journal.lock:
                for key_id, when in taken.items():
                    held = journal.times.get(key_id)
                    if held is None or held < when:
                        journal.times[key_id] = when
            warn_every("api-key-journal", 60.0, "api-key lastRequest not written (kept for later): %s", error)
            return 0
        finally:
            db.session.remove()
    return len(taken)


def _run(app: Flask, journal: _Journal) -> None:
    while not journal.stop.wait(FLUSH_INTERVAL):
        flush(app)


def close_journal(app: Flask) -> bool:
    """Stop this process's journal and write what it holds; True when it had work."""
    journal: _Journal | None = app.extensions.get(_EXTENSION)
    if journal is None or journal.pid != os.getpid():
        return False
    journal.stop.set()
    if journal.thread is not None:
        journal.thread.join(timeout=5)
    return flush(app) > 0 or journal.thread is not None
