"""Real gunicorn servers for the audit drills: start, load with entries, signal, count what arrived."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from app.modules.audit.chain import table
from app.modules.audit.verify import verify_chain
from tests.audit.conftest import AUDIT_ON, audit_keyring
from tests.conftest import BASE_OVERRIDES

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # upper bound of every wait; never an assertion on speed
GRACEFUL = 4  # GUNICORN_GRACEFUL_TIMEOUT of the drills: the drain gets 3 s


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT, log_file: Path | None = None) -> None:
    """Poll ``condition``; on giving up, the tail of ``log_file`` (the server's) says why."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = f"\n{log_file.read_text()[-4000:]}" if log_file and log_file.exists() else ""
            raise AssertionError(f"gave up waiting for {what}{tail}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``gunicorn -c gunicorn.conf.py`` with ``workers`` workers on ``database_url``, spooling to ``spool``."""

    def __init__(self, database_url: str, spool: Path, log_file: Path, workers: int = 2) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.workers = workers
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULES__", "AUTH__", "PROMETHEUS_"))}
        env.pop("REDIS_URL", None)
        env.update({k: str(v) for k, v in BASE_OVERRIDES.items()})
        env.update(AUDIT_ON)
        env.update(
            APP_ENV_FILE="",
            LOG_LEVEL="INFO",
            DATABASE_URL=database_url,
            MODULES__AUDIT__SPOOL_DIR=str(spool),
            MODULES__AUDIT__BATCH_SIZE="50",
            MODULES__AUDIT__RETRY_MAX_DELAY="0.5",
            GUNICORN_GRACEFUL_TIMEOUT=str(GRACEFUL),
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS="4",
        )
        with log_file.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tests.audit.gunicorn_app:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        wait_for(self._serving, "gunicorn to serve")

    def _serving(self) -> bool:
        assert self.proc.poll() is None, f"gunicorn exited early:\n{self.log_file.read_text()[-3000:]}"
        return len(self.worker_pids()) == self.workers and self.ready()

    def ready(self) -> bool:
        """``/api/v1/readyz`` answers 200 on fresh connections (several, to reach every worker)."""
        try:
            return all(
                requests.get(f"{self.base}/api/v1/readyz", headers={"Connection": "close"}, timeout=5).status_code
                == 200 for _ in range(2 * self.workers)
            )
        except requests.RequestException:
            return False

    def worker_pids(self) -> set[int]:
        found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return {int(pid) for pid in found.stdout.split()}

    def log(self, tag: str, requests_sent: int, per_request: int) -> dict[int, int]:
        """Send ``requests_sent`` x ``per_request`` entries on fresh connections; entries per worker pid."""
        by_pid: dict[int, int] = {}
        for number in range(requests_sent):
            response = requests.post(f"{self.base}/log/{per_request}", params={"tag": f"{tag}{number}"},
                                     headers={"Connection": "close"}, timeout=WAIT)
            assert response.status_code == 200, response.text
            pid = response.json()["pid"]
            by_pid[pid] = by_pid.get(pid, 0) + per_request
        return by_pid

    def terminate(self) -> int:
        """SIGTERM the master and wait for it; its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def counted(database_url: str) -> tuple[int, int]:
    """(entries of the drills, distinct ones) after checking that the chain verifies."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        drill = table.c.action == "gunicorn.test"
        total = int(conn.execute(select(func.count()).select_from(table).where(drill)).scalar() or 0)
        distinct = int(conn.execute(select(func.count(func.distinct(table.c.resource_id))).where(drill)).scalar() or 0)
        intact = verify_chain(conn, audit_keyring())
    engine.dispose()
    assert intact.ok, intact.problem
    return total, distinct


def spooled(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir()) if spool.exists() else []


def kept_counts(log_file: Path) -> list[int]:
    """The counts of the shutdown lines saying how many entries stayed in the spool."""
    counts = []
    for line in log_file.read_text().splitlines():
        marker = " entries not written within the "
        if marker in line:
            counts.append(int(line.split(marker)[0].rsplit("audit: ", 1)[1]))
    return counts
