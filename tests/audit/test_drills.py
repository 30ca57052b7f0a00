"""Drills with real gunicorn processes and real signals: nothing ``log_async`` accepted is lost.

Each drill counts the entries that reach the database: all of them, each exactly once, with a chain
that verifies, and every worker ready after the restart. The graceful timeout is 4 s (the drain 3 s),
so the drills take seconds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app import create_app
from tests.audit.conftest import hold_chain_lock
from tests.audit.drill import Server, counted, kept_counts, spooled, wait_for
from tests.conftest import BASE_OVERRIDES, PG_SERVER, _migrate, create_pg_database, drop_pg_database
from tests.private_pg import PrivatePostgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def drill_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the drill's own, on SQLite or on the shared PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'drill.db'}"
        _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
        yield url
        return
    assert PG_SERVER
    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    yield url
    drop_pg_database(url)


def _restart_and_count(url: str, spool: Path, log_file: Path, expected: int) -> None:
    """A new server writes what the old one left in the spool: every entry exactly once."""
    server = Server(url, spool, log_file)
    try:
        wait_for(lambda: counted(url)[0] >= expected, f"{expected} entries after the restart", log_file=log_file)
        wait_for(lambda: server.ready() and len(server.worker_pids()) == 2, "both workers ready", log_file=log_file)
        assert server.terminate() == 0
    finally:
        server.kill()
    assert counted(url) == (expected, expected)
    assert spooled(spool) == []


def test_sigterm_while_the_chain_lock_is_held_past_the_drain(drill_database: str, tmp_path: Path) -> None:
    spool, log_file = tmp_path / "spool", tmp_path / "gunicorn.log"
    server = Server(drill_database, spool, log_file)
    try:
        with hold_chain_lock(drill_database):
            sent = server.log("lock", requests_sent=8, per_request=50)
            assert counted_without_lock(drill_database) == 0  # every writer waits behind our lock
            assert server.terminate() == 0  # the drain (3 s) ends while we still hold it
    finally:
        server.kill()
    total = sum(sent.values())
    assert counted(drill_database) == (0, 0)
    assert sum(kept_counts(log_file)) == total == 400  # the shutdown said how many stay spooled
    assert spooled(spool)
    _restart_and_count(drill_database, spool, log_file, total)
    print(f"lock drill: {total} queued, 0 written before SIGTERM, {kept_counts(log_file)} logged as kept, "
          f"{total} written once after the restart")


def counted_without_lock(url: str) -> int:
    """Rows present, read without the chain's lock (readers are not blocked by it)."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.pool import NullPool

    from app.modules.audit.chain import table

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        found = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    engine.dispose()
    return found


def test_sigkill_of_a_worker_with_a_backlog(drill_database: str, tmp_path: Path) -> None:
    spool, log_file = tmp_path / "spool", tmp_path / "gunicorn.log"
    server = Server(drill_database, spool, log_file)
    try:
        with hold_chain_lock(drill_database):
            sent = server.log("kill", requests_sent=8, per_request=50)
            victim = max(sent, key=lambda pid: sent[pid])
            os.kill(victim, signal.SIGKILL)  # as the OOM killer does: no hook runs
            wait_for(lambda: victim not in server.worker_pids() and len(server.worker_pids()) == 2,
                     "gunicorn to replace the killed worker", log_file=log_file)
            assert counted_without_lock(drill_database) == 0
        # The lock is gone: the replacement (or the survivor) writes the dead worker's segment.
        total = sum(sent.values())
        wait_for(lambda: counted(drill_database)[0] >= total, f"{total} entries", log_file=log_file)
        wait_for(lambda: server.ready() and len(server.worker_pids()) == 2, "both workers ready", log_file=log_file)
        assert server.terminate() == 0
    finally:
        server.kill()
    assert counted(drill_database) == (total, total) == (400, 400)
    assert spooled(spool) == []
    print(f"SIGKILL drill: worker {victim} killed with {sent[victim]} of {total} entries spooled; "
          f"{total} written once, chain intact")


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.mark.postgres
def test_sigterm_while_postgresql_is_down(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    url = private_postgres.url
    if not private_postgres.answers():
        private_postgres.start()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    assert make_url(url).port == private_postgres.port
    spool, log_file = tmp_path / "spool", tmp_path / "gunicorn.log"
    server = Server(url, spool, log_file)
    try:
        before = server.log("up", requests_sent=4, per_request=50)
        wait_for(lambda: counted(url)[0] == 200, "the first 200 entries")
        private_postgres.stop()
        during = server.log("down", requests_sent=6, per_request=50)
        assert server.terminate() == 0  # the writers retry until the drain's deadline, then stop
    finally:
        server.kill()
    assert sum(kept_counts(log_file)) == sum(during.values()) == 300
    private_postgres.start()
    assert counted(url) == (200, 200)
    _restart_and_count(url, spool, log_file, sum(before.values()) + 300)
    print(f"database-down drill: 200 written before the stop, 300 spooled while down, {kept_counts(log_file)} "
          "logged as kept at SIGTERM, 500 written once after the restart")
