"""Settings are checked at start; the migration matches the model on the test backend."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from config import ConfigError
from tests.audit.conftest import AUDIT_ON


@pytest.mark.parametrize(
    ("name", "value"),
    [("RETENTION_DAYS", "0"), ("SEGMENT_BYTES", "many"), ("BATCH_SIZE", "-1"), ("DRAIN_TIMEOUT", "soon")],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"MODULES__AUDIT__{name}", value)
    with pytest.raises(ConfigError, match=f"MODULES__AUDIT__{name}='{value}' is invalid"):
        make_app(**AUDIT_ON)


def test_settings_are_read_and_the_toggle_does_not_trip_them(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODULES__AUDIT", "true")
    monkeypatch.setenv("MODULES__AUDIT__RETENTION_DAYS", "90")
    monkeypatch.setenv("MODULES__AUDIT__BATCH_SIZE", "12")
    app: Flask = make_app(MODULES__AUTH="false")
    settings = app.extensions["audit"].settings
    assert (settings.retention_days, settings.batch_size) == (90, 12)


@pytest.mark.parametrize(("graceful", "expected"), [(None, 15.0), ("8", 6.0)])
def test_the_drain_timeout_is_derived_from_the_graceful_timeout(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, graceful: str | None, expected: float
) -> None:
    if graceful is None:
        monkeypatch.delenv("GUNICORN_GRACEFUL_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", graceful)
    app: Flask = make_app(**AUDIT_ON)
    assert app.extensions["audit"].settings.drain_timeout == expected


def test_the_spool_defaults_to_the_instance_folder(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.modules.audit.settings import check_audit_settings

    monkeypatch.delenv("MODULES__AUDIT__SPOOL_DIR", raising=False)
    assert check_audit_settings({}, "/srv/app/instance").spool_dir == "/srv/app/instance/audit-spool"


@pytest.mark.parametrize(("drain", "graceful"), [("20", None), ("9.5", "9"), ("30", "30")])
def test_a_drain_timeout_that_outlives_the_graceful_timeout_stops_the_start(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, drain: str, graceful: str | None
) -> None:
    monkeypatch.setenv("MODULES__AUDIT__DRAIN_TIMEOUT", drain)
    if graceful is None:
        monkeypatch.delenv("GUNICORN_GRACEFUL_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", graceful)
    expected = r"^MODULES__AUDIT__DRAIN_TIMEOUT=.* does not fit in GUNICORN_GRACEFUL_TIMEOUT="
    with pytest.raises(ConfigError, match=expected):
        make_app(**AUDIT_ON)


def test_a_bad_graceful_timeout_is_named(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"^GUNICORN_GRACEFUL_TIMEOUT='soon' is invalid"):
        make_app(**AUDIT_ON)


@pytest.mark.parametrize("command", ["wsgi", "gunicorn"])
def test_a_production_start_without_the_audit_key_is_one_line_exit_2(tmp_path: Any, command: str) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "APP_ENV": "production", "APP_ENV_FILE": "", "MODULES__AUDIT": "true",
           "AUTH__SECRET": "s" * 40, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "GUNICORN_BIND": "127.0.0.1:0"}
    env.pop("MODULES__AUDIT__KEY", None)
    args = [sys.executable, "-c", "import wsgi"] if command == "wsgi" else [
        str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert [line for line in done.stderr.splitlines() if "MODULES__AUDIT__KEY" in line] == [
        "configuration error: MODULES__AUDIT__KEY is required in production when MODULES__AUDIT=true; expected "
        "a random string of at least 32 characters, separate from AUTH__SECRET"]


@pytest.mark.parametrize("command", ["wsgi", "gunicorn"])
def test_the_one_line_exit_2_from_the_command_line(tmp_path: Any, command: str) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "APP_ENV": "testing", "APP_ENV_FILE": "", "MODULES__AUDIT": "true",
           "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "GUNICORN_GRACEFUL_TIMEOUT": "10",
           "MODULES__AUDIT__DRAIN_TIMEOUT": "12", "GUNICORN_BIND": "127.0.0.1:0"}
    args = [sys.executable, "-c", "import wsgi"] if command == "wsgi" else [
        str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if "MODULES__AUDIT__DRAIN_TIMEOUT" in line]
    assert lines == ["configuration error: MODULES__AUDIT__DRAIN_TIMEOUT=12.0 does not fit in "
                     "GUNICORN_GRACEFUL_TIMEOUT=10; expected fewer seconds than the graceful timeout"]


def test_disabled_module_installs_nothing(make_app: Any) -> None:
    app: Flask = make_app(MODULES__AUDIT="false", MODULES__AUTH="false")
    assert "audit_logger" not in app.extensions
    assert app.test_client().get("/api/v1/audit").status_code == 404


def test_the_migration_matches_the_model(audit_app: Flask) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.extensions import db

    with audit_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, db.metadata)

    def about_audit(diff: Any) -> bool:
        text = repr(diff)
        return "audit_log" in text

    assert [d for d in diffs if about_audit(d)] == []
