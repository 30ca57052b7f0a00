"""Settings are checked at start; the migration matches the model on the test backend."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from config import ConfigError
from tests.audit.conftest import AUDIT_ON


@pytest.mark.parametrize(
    ("name", "value"),
    [("RETENTION_DAYS", "0"), ("QUEUE_SIZE", "many"), ("BATCH_SIZE", "-1"), ("ENQUEUE_TIMEOUT", "soon")],
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
    monkeypatch.setenv("MODULES__AUDIT__QUEUE_SIZE", "12")
    app: Flask = make_app(MODULES__AUTH="false")
    settings = app.extensions["audit"].settings
    assert (settings.retention_days, settings.queue_size) == (90, 12)


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
