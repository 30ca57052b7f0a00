"""gunicorn serving ``bench.wsgi:app`` with the repository's ``gunicorn.conf.py``, and its workers' memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_pids(master: int) -> list[int]:
    """The master's children, from /proc (gunicorn's workers)."""
    children: list[int] = []
    for task in Path(f"/proc/{master}/task").iterdir():
        text = (task / "children").read_text().split()
        children += [int(pid) for pid in text]
    return sorted(children)


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes spent so far (``/proc/<pid>/stat`` utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a worker that went away: its time is lost, the others still count
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} before answering")
        try:
            if requests.get(base_url + "/api/v1/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready in time")


@contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """Serve the bench app on a free 127.0.0.1 port; yields (base URL, master pid); stops it after."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The base URL is the origin the workloads send, so the CSRF origin check passes as for a browser.
    full_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}", "AUTH__BASE_URL": base_url}
    full_env.pop("GUNICORN_ACCESS_LOG", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "bench.wsgi:app"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(base_url, process)
            yield base_url, process.pid
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
