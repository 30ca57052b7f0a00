"""Without Redis, two real gunicorn workers count failures and rate limits together (issue 14 item 4).

The review: "15 wrong passwords spread over the 2 gunicorn workers, no Redis (the default
deployment): sometimes no lock at all", because each worker counted in its own memory. Now the
counters live in the database (``auth_counter``), so the workers share them, on SQLite and on
PostgreSQL. Each answer names its worker (``tests/security/pid_wsgi.py``): the test checks that both
workers answered, so the counts could not have been one worker's alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import BASE_OVERRIDES, TEST_SECRET, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
MAX_FAILURES = 6
RATE_MAX = 5
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database on SQLite or on PostgreSQL, whatever the test run's backend."""
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    from app import create_app
    from tests.conftest import _migrate

    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    yield url
    drop_pg_database(url)


@pytest.fixture
def gunicorn(migrated_database: str) -> Iterator[str]:
    """Two gunicorn workers on that database, no Redis; yields the base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULES__", "AUTH__", "PROMETHEUS_", "REDIS"))}
    env.update(
        APP_ENV="testing",
        APP_ENV_FILE="",
        AUTH__SECRET=TEST_SECRET,
        AUTH__BASE_URL=f"http://127.0.0.1:{port}",
        AUTH__TRUSTED_PROXIES="1",
        AUTH__ARGON2__MEMORY_COST="8",
        AUTH__ARGON2__TIME_COST="1",
        AUTH__LOCKOUT__MAX_FAILURES=str(MAX_FAILURES),
        AUTH__LOCKOUT__SLOW_AFTER="100",
        AUTH__RATE_LIMIT__ENABLED="true",
        AUTH__RATE_LIMIT__MAX=str(RATE_MAX),
        AUTH__RATE_LIMIT__WINDOW="60",
        DATABASE_URL=migrated_database,
        LOG_LEVEL="WARNING",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "tests.security.pid_wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if requests.get(f"{base}/api/v1/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start serving"
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    assert "Traceback" not in stderr, stderr


class Worker:
    """A keep-alive connection that one worker accepted: every request on it goes to that worker."""

    def __init__(self, session: requests.Session, pid: str) -> None:
        self.session = session
        self.pid = pid

    def call(self, method: str, url: str, client: str, **kwargs: object) -> requests.Response:
        """One request from ``client`` (the address our one trusted proxy wrote), on this worker."""
        headers = {"Origin": url.split("/api/")[0], "X-Forwarded-For": client}
        answer = self.session.request(method, url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]
        assert answer.headers["X-Worker-Pid"] == self.pid, "the keep-alive connection moved"
        return answer


def both_workers(base: str) -> tuple[Worker, Worker]:
    """Open connections until two different workers hold one each (the kernel picks who accepts;
    the second worker may still be booting)."""
    found: dict[str, Worker] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        session = requests.Session()
        pid = session.get(f"{base}/api/v1/healthz", timeout=30).headers["X-Worker-Pid"]
        if pid in found:
            session.close()
            time.sleep(0.05)
            continue
        found[pid] = Worker(session, pid)
        if len(found) == 2:
            first, second = found.values()
            return first, second
    raise AssertionError(f"only worker {list(found)} accepted connections")


def test_two_workers_share_failure_counters_and_rate_limits(gunicorn: str) -> None:
    auth = f"{gunicorn}/api/v1/auth"
    workers = both_workers(gunicorn)
    body = {"name": "A", "email": "ada@example.com", "password": PASSWORD}
    assert workers[0].call("POST", f"{auth}/sign-up/email", "192.0.2.1", json=body).status_code == 200

    # MAX_FAILURES wrong passwords, each from its own address, half on each worker.
    for number in range(MAX_FAILURES):
        wrong = workers[number % 2].call(
            "POST", f"{auth}/sign-in/email", f"198.51.100.{number + 1}",
            json={"email": "ada@example.com", "password": "wrong password"},
        )
        assert wrong.status_code == 401
    for worker in workers:  # the account is locked, for both workers
        locked = worker.call(
            "POST", f"{auth}/sign-in/email", "203.0.113.9", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert (locked.status_code, locked.json()["code"]) == (401, "INVALID_EMAIL_OR_PASSWORD")

    # The rate limit of one client counts across both workers: RATE_MAX answers, then 429s.
    statuses = [
        workers[i % 2].call("GET", f"{auth}/get-session", "192.0.2.77").status_code for i in range(RATE_MAX + 4)
    ]
    assert statuses == [200] * RATE_MAX + [429] * 4
