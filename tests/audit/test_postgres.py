"""On a real PostgreSQL: an outage loses nothing, and gunicorn's SIGTERM drains every worker's queue."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, func, make_url, select, text

from app import create_app
from app.extensions import db
from app.modules import audit_logger, close_modules
from app.modules.audit.chain import table
from app.modules.audit.verify import verify_chain
from tests.audit.conftest import AUDIT_ON, audit_keyring, hold_chain_lock, sample
from tests.conftest import BASE_OVERRIDES, _migrate, _pg_admin_url, create_pg_database, drop_pg_database

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # generous upper bound of every wait below; never an assertion on speed


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of this test's own: the test takes it offline or points a gunicorn at it."""
    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    yield url
    drop_pg_database(url)


def _count(url: str, **where: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(table)
        for name, value in where.items():
            stmt = stmt.where(table.c[name] == value)
        found = int(conn.execute(stmt).scalar() or 0)
        intact = verify_chain(conn, audit_keyring())
    engine.dispose()
    assert intact.ok, intact.problem
    return found


def _admin(statement: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_database_down_for_a_while_loses_nothing(
    own_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODULES__AUDIT__RETRY_MAX_DELAY", "0.5")
    app: Flask = create_app({
        **BASE_OVERRIDES, **AUDIT_ON, "DATABASE_URL": own_database, "MODULES__AUDIT__SPOOL_DIR": str(tmp_path)
    })
    name = make_url(own_database).database
    retried_before, failed_before = _metric("audit_write_retries_total"), _metric("audit_entries_failed_total")
    try:
        with app.app_context():
            audit_logger.log_async(**sample(action="before"))
            assert app.extensions["audit_logger"].flush(WAIT)
            _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            try:
                for number in range(300):
                    audit_logger.log_async(**sample(action="during", resource_id=str(number)))
                _wait_for(lambda: _metric("audit_write_retries_total") > retried_before + 2, "the writer to retry")
                assert app.extensions["audit_logger"].flush(0) is False  # still held, not dropped
            finally:
                _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert app.extensions["audit_logger"].flush(WAIT)
    finally:
        close_modules(app)
        with app.app_context():
            db.engine.dispose()
    assert _count(own_database, action="during") == 300
    assert _count(own_database) == 301
    assert _metric("audit_entries_failed_total") == failed_before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn_config() -> Path:
    """The project's gunicorn.conf.py (its worker_exit hook drains the modules); ours until it exists."""
    project = ROOT / "gunicorn.conf.py"
    return project if project.exists() else Path(__file__).with_name("gunicorn_conf.py")


def test_gunicorn_sigterm_drains_every_queued_entry(own_database: str, tmp_path: Path) -> None:
    port = _free_port()
    log_file = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        **{k: str(v) for k, v in BASE_OVERRIDES.items()},
        **AUDIT_ON,
        "DATABASE_URL": own_database,
        "APP_ENV_FILE": "",
        "MODULES__AUDIT__BATCH_SIZE": "10",
        "MODULES__AUDIT__SPOOL_DIR": str(tmp_path / "spool"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(_gunicorn_config()), "-w", "3", "-b", f"127.0.0.1:{port}",
        "--log-level", "info", "--error-logfile", str(log_file), "tests.audit.gunicorn_app:app",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{base}/api/v1/livez"), "gunicorn to answer")
        with hold_chain_lock(own_database):
            pids = set()
            with requests.Session() as http:
                for _ in range(12):
                    response = http.post(f"{base}/log/50", headers={"Connection": "close"}, timeout=WAIT)
                    assert response.status_code == 200
                    pids.add(response.json()["pid"])
            # Every writer waits behind our lock: all 600 entries are queued, none written.
            assert _count(own_database) == 0
            server.send_signal(signal.SIGTERM)
            _wait_for(lambda: log_file.read_text().count("Worker exiting") >= 3, "the workers to start exiting")
        assert server.wait(timeout=WAIT) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert _count(own_database, action="gunicorn.test") == 600


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
