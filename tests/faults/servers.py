"""Private servers for the drills: a PostgreSQL cluster (initdb in a temporary directory), a
redis-server, and a gunicorn with two workers, each a real process the drill stops, pauses
(SIGSTOP) or restores mid-test. Never the shared servers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def wait_for(condition: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Postgres:
    """A cluster in its own temporary directory (not under pytest's, which the postgres user may
    not be allowed to enter); :meth:`remove` deletes it."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="drill-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.directory / "data"), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8"]),
            check=True, capture_output=True,
        )

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-o", options,
                          "-l", str(self.directory / "log"), "-w", "-t", "30", "start"]),
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "-w",
                          "stop"]),
            check=False, capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Redis:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, "redis-server")

    def client(self) -> object:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            return False

    def snapshot(self) -> Path:
        """BGSAVE, then a copy of the dump: what a replica or a backup holds at this moment."""
        client = self.client()
        before = client.lastsave()  # type: ignore[attr-defined]
        client.bgsave()  # type: ignore[attr-defined]
        wait_for(lambda: client.lastsave() != before, "BGSAVE")  # type: ignore[attr-defined]
        copy = self.directory / "old-snapshot.rdb"
        shutil.copyfile(self.directory / "dump.rdb", copy)
        return copy

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restore(self, snapshot: Path) -> None:
        """Stop (losing everything since) and start again from ``snapshot``."""
        self.stop()
        shutil.copyfile(snapshot, self.directory / "dump.rdb")
        self.start()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@dataclass
class Gunicorn:
    env: Mapping[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MODULES__", "AUTH__", "PROMETHEUS_", "REDIS_", "DATABASE_"))}
        env.update(self.env)
        env.update(GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2", PYTHONPATH=str(ROOT),
                   AUTH__BASE_URL=self.base, APP_ENV_FILE="")
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"),
        )

        def serving() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(self.base + "/api/v1/healthz", timeout=2) as response:
                    return bool(response.status == 200)
            except (OSError, urllib.error.URLError):
                return False

        wait_for(serving, "gunicorn", timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
