"""Settings: a wrong value stops every entry point with one line naming the variable, exit status 2."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GOOD_SECRET = "s" * 40

#: (environment, what the one line must contain)
BAD = [
    ({"MODULES__AUTH": "maybe"}, "MODULES__AUTH='maybe' is not a boolean; expected true or false"),
    ({"DATABASE_URL": "nonsense"}, "DATABASE_URL='nonsense' is not a database URL; expected sqlite:///path"),
    ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL='mysql://u@h/db' names the unsupported backend 'mysql'"),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL='http://127.0.0.1:6379' is not a Redis URL; expected redis://"),
    ({"AUTH__SECRET": "too-short"}, "AUTH__SECRET is 9 characters long; expected at least 32"),
    ({"AUTH__SECRET": ""}, "AUTH__SECRET is required in production; expected a random string of at least 32"),
    (
        {"MODULES__TENANT": "true", "MODULES__AUTH": "false"},
        "MODULES__TENANT=true needs MODULES__AUTH=true",
    ),
    ({"KEYCLOAK__ENABLED": "true"}, "KEYCLOAK__ISSUER is required when KEYCLOAK__ENABLED=true"),
    # Modules' and plugins' own settings (app.core.settings.section) stop the start the same way.
    ({"AUTH__TWO_FACTOR__DIGITS": "six"}, "AUTH__TWO_FACTOR__DIGITS='six' is invalid: Input should be a valid integer"),
    ({"AUTH__JWT__ALG": "none"}, "AUTH__JWT__ALG='none' is invalid"),
    ({"MODULES__AUDIT": "true", "MODULES__AUDIT__BATCH_SIZE": "0"}, "MODULES__AUDIT__BATCH_SIZE='0' is invalid"),
    # A section's model-level rule names its variables itself (no "is invalid:" in front of it).
    (
        {"MODULES__TENANT": "true", "MODULES__TENANT__SUBDOMAIN": "true"},
        "configuration error: MODULES__TENANT__SUBDOMAIN=true needs MODULES__TENANT__BASE_DOMAIN",
    ),
    ({"MAIL__BACKEND": "file"}, "configuration error: MAIL__FILE is required when MAIL__BACKEND=file"),
    ({"METRICS__TOKEN": "short"}, "METRICS__TOKEN is invalid: String should have at least 16 characters"),
]
IDS = [
    "bool", "db-url", "db-backend", "redis-url", "short-secret", "missing-secret", "tenant-without-auth",
    "keycloak-incomplete", "two-factor-digits", "jwt-alg", "audit-batch", "tenant-rule", "mail-file", "metrics-token",
]


def _env(extra: dict[str, str]) -> dict[str, str]:
    ours = ("MODULES__", "AUTH__", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        APP_ENV="production",
        APP_ENV_FILE="",
        AUTH__SECRET=GOOD_SECRET,
        DATABASE_URL="sqlite:///:memory:",
        PYTHONPATH=str(ROOT),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def _one_line(stderr: str, expected: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("configuration error: "), stderr
    assert expected in lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("extra", "expected"), BAD, ids=IDS)
def test_import_wsgi_stops_with_one_line(extra: dict[str, str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=_env(extra), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    _one_line(result.stderr, expected)


@pytest.mark.parametrize("command", [["run", "--port", "1"], ["db", "upgrade"], ["routes"]])
def test_flask_commands_stop_with_one_line(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *command],
        cwd=ROOT,
        env=_env({"MODULES__AUTH": "maybe"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    _one_line(result.stderr, "MODULES__AUTH='maybe' is not a boolean")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_gunicorn_stops_before_forking_with_one_line() -> None:
    env = _env({"AUTH__SECRET": "short", "GUNICORN_BIND": f"127.0.0.1:{_free_port()}", "WEB_CONCURRENCY": "1"})
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    assert proc.returncode == 2
    # gunicorn.conf.py checks the settings as gunicorn loads it; a "Starting gunicorn" line would be gunicorn's.
    ours = "\n".join(line for line in stderr.splitlines() if "[INFO] Starting gunicorn" not in line)
    _one_line(ours, "AUTH__SECRET is 5 characters long; expected at least 32")
    assert "Booting worker" not in stderr


def test_database_url_password_is_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_ENV": "testing", "DATABASE_URL": "postgresql://app:hunter2@/db"})
    assert "hunter2" not in str(caught.value)
    assert "DATABASE_URL='postgresql://app:***@/db' has no host" in str(caught.value)


def test_secret_value_is_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_ENV": "production", "AUTH__SECRET": "tiny-secret"})
    assert "tiny-secret" not in str(caught.value)


def test_unknown_module_toggle_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="config"):
        settings = load_settings({"APP_ENV": "testing", "AUTH__SECRET": GOOD_SECRET, "MODULES__BILLING": "true"})
    assert settings.modules.auth is True
    assert any("MODULES__BILLING" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)


def test_known_toggles_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="config"):
        load_settings({"APP_ENV": "testing", "AUTH__SECRET": GOOD_SECRET, "MODULES__AUDIT": "true"})
    assert not [r for r in caplog.records if "unknown module toggle" in r.getMessage()]


def test_values_are_parsed_and_normalized() -> None:
    settings = load_settings(
        {
            "APP_ENV": "testing",
            "AUTH__SECRET": GOOD_SECRET,
            "DATABASE_URL": "postgres://app@db.internal:5432/app",
            "LOG_LEVEL": "debug",
            "MODULES__AUDIT": "1",
            "AUTH__ARGON2__MEMORY_COST": "65536",
            "AUTH__TRUSTED_ORIGINS": "https://a.example/, https://b.example",
        }
    )
    assert settings.database_url == "postgresql+psycopg://app@db.internal:5432/app"
    assert settings.log_level == "DEBUG"
    assert settings.modules.audit is True
    assert settings.auth.argon2.memory_cost == 65536
    assert settings.auth.trusted_origins == ["https://a.example", "https://b.example"]


def test_development_keeps_its_secret_in_a_file_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_SECRET_FILE", str(tmp_path / "instance" / "dev-secret"))
    settings = load_settings({"APP_ENV": "development", "AUTH__SECRET": ""})
    assert settings.auth.secret and len(settings.auth.secret) >= 32
    assert (tmp_path / "instance" / "dev-secret").read_text().strip() == settings.auth.secret


def test_production_on_laptop_defaults_says_so_at_start(caplog: pytest.LogCaptureFixture) -> None:
    """A production app without AUTH__BASE_URL trusts only http://localhost:5000 as its origin, and
    without DATABASE_URL writes SQLite in the container: it serves, so the start says it."""
    from app import create_app
    from app.modules import close_modules

    with caplog.at_level(logging.WARNING, logger="app"):
        close_modules(create_app({"APP_ENV": "production", "AUTH__SECRET": "s" * 40}))
    said = [r.getMessage() for r in caplog.records if r.name == "app"]
    assert any(m.startswith("AUTH__BASE_URL is not set in production") for m in said), said
    assert any(m.startswith("DATABASE_URL is not set in production") for m in said), said
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app"):
        close_modules(create_app({"APP_ENV": "production", "AUTH__SECRET": "s" * 40,
                                  "AUTH__BASE_URL": "https://app.example.com", "DATABASE_URL": "sqlite://"}))
    assert not [r for r in caplog.records if r.name == "app" and "not set in production" in r.getMessage()]
