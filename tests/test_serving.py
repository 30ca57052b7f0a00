"""Serving settings (``serving.py``): every gunicorn variable is typed; a wrong one is one line, exit 2.

Real gunicorn processes, started as operators start them: ``gunicorn -c gunicorn.conf.py wsgi:app``
and ``python -m serving`` (the image's command).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError
from serving import load_server_settings
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

BAD_VALUES = [
    ("GUNICORN_THREADS", "four", "is invalid: Input should be a valid integer"),
    ("GUNICORN_THREADS", "0", "greater than or equal to 1"),
    ("WEB_CONCURRENCY", "0", "greater than or equal to 1"),
    ("GUNICORN_TIMEOUT", "-1", "greater than or equal to 0"),
    ("GUNICORN_GRACEFUL_TIMEOUT", "soon", "valid integer"),
    ("PORT", "70000", "less than or equal to 65535"),
    ("PORT", "http", "valid integer"),
    ("GUNICORN_BIND", "localhost", "is not a bind address"),
    ("GUNICORN_BIND", "127.0.0.1:99999", "is not a bind address"),
    ("GUNICORN_ACCESS_LOG", "/no/such/folder/access.log", "is not a writable place"),
    ("GUNICORN_CONTROL_SOCKET", "/no/such/folder/gunicorn.ctl", "is not a writable place"),
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "AUTH__", "MODULES__"))}
    for name in ("WEB_CONCURRENCY", "PORT", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    env.update(APP_ENV="production", APP_ENV_FILE="", AUTH__SECRET=TEST_SECRET, PYTHONPATH=str(ROOT),
               DATABASE_URL="sqlite:///:memory:", GUNICORN_BIND="127.0.0.1:0")
    env.update(extra)
    return env


def _start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def _assert_one_line(result: subprocess.CompletedProcess[str], variable: str, value: str, why: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable}={value!r} "), lines[0]
    assert why in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(("variable", "value", "why"), BAD_VALUES)
def test_gunicorn_refuses_a_bad_value_in_one_line(variable: str, value: str, why: str) -> None:
    result = _start([str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"], _env(**{variable: value}))
    _assert_one_line(result, variable, value, why)


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [("WEB_CONCURRENCY", "abc", "valid integer"), ("GUNICORN_THREADS", "four", "valid integer")],
)
def test_python_m_serving_refuses_a_bad_value_in_one_line(variable: str, value: str, why: str) -> None:
    """WEB_CONCURRENCY=abc crashes gunicorn's own import; the image's command checks it first."""
    result = _start([sys.executable, "-m", "serving"], _env(**{variable: value}))
    _assert_one_line(result, variable, value, why)


def test_python_m_serving_refuses_a_bad_app_setting_in_one_line() -> None:
    result = _start([sys.executable, "-m", "serving"], _env(AUTH__SECRET="short"))
    assert result.returncode == 2
    expected = "configuration error: AUTH__SECRET is 5 characters long; expected at least 32"
    assert result.stderr.strip().splitlines() == [expected]


def test_settings_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV_FILE", "")
    for name in ("GUNICORN_BIND", "GUNICORN_ACCESS_LOG", "GUNICORN_CONTROL_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "7")
    server = load_server_settings()
    assert (server.bind, server.workers, server.threads, server.graceful_timeout) == (["0.0.0.0:9001"], 3, 4, 7)
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9002, [::1]:9003,unix:/tmp/app.sock")
    assert load_server_settings().bind == ["127.0.0.1:9002", "[::1]:9003", "unix:/tmp/app.sock"]
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "0")
    with pytest.raises(ConfigError, match=r"^GUNICORN_GRACEFUL_TIMEOUT='0' is invalid"):
        load_server_settings()
