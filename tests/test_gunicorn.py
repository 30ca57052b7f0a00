"""A real gunicorn with two workers: metrics add up across workers, SIGTERM closes every module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
REQUESTS_SENT = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # one connection per request
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_until_serving(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited early"
        try:
            if _get(f"{base}/api/v1/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not start serving")


def _request_counts(text: str) -> dict[tuple[str, str, str], float]:
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_total":
                key = (sample.labels["route"], sample.labels["method"], sample.labels["status"])
                counts[key] = counts.get(key, 0) + sample.value
    return counts


@pytest.mark.modules("audit")
def test_two_workers_share_metrics_and_close_modules_on_sigterm(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULES__", "AUTH__", "PROMETHEUS_"))}
    env.update(
        APP_ENV="testing",
        APP_ENV_FILE="",
        AUTH__SECRET=TEST_SECRET,
        AUTH__BASE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=database_url,
        MODULES__AUDIT="true",
        MODULES__AUDIT__SPOOL_DIR=str(tmp_path / "audit-spool"),
        LOG_LEVEL="DEBUG",  # a module with nothing to close says so at DEBUG
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        PYTHONPATH=str(ROOT),
    )
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base, proc)
        for _ in range(REQUESTS_SENT):
            assert _get(f"{base}/api/v1/version")[0] == 200
        assert _get(f"{base}/api/v1/no-such-route")[0] == 404
        assert _get(f"{base}/api/v1/readyz")[0] == 200
        status, text = _get(f"{base}/metrics")
        assert status == 200
        counts = _request_counts(text)
        # Every request is counted once, whichever worker answered it.
        assert counts[("/api/v1/version", "GET", "200")] == REQUESTS_SENT
        assert counts[("<unmatched>", "GET", "404")] == 1
        assert not [key for key in counts if key[0] in ("/api/v1/healthz", "/api/v1/readyz", "/metrics")]
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert stderr.count("Booting worker with pid") == 2, stderr
    # worker_exit -> close_modules ran in both workers, for every module.
    assert stderr.count("module audit closed") == 2, stderr
    assert stderr.count("module auth closed") == 2, stderr
    assert "Traceback" not in stderr, stderr
