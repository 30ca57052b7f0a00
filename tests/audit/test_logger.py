"""log writes now and raises; log_async checks at the call site, queues, never raises, drains on close."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, g
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.extensions import db
from app.modules import audit_logger, close_modules
from app.modules.audit.entry import InvalidAuditEntry
from app.modules.audit.models import AuditLog
from tests.audit.conftest import audit_table_missing, count_rows, hold_chain_lock, sample


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_log_writes_every_field_with_the_request_context(audit_app: Flask) -> None:
    with audit_app.test_request_context(
        "/x", headers={"User-Agent": "pytest-agent"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    ):
        g.request_id = "req-42"
        audit_logger.log(**sample(details={"changed": ["name"], "n": 2}))
    with audit_app.app_context():
        row = db.session.execute(select(AuditLog)).scalar_one()
    assert (row.actor_id, row.action, row.resource_type) == ("user-1", "project.update", "project")
    assert row.resource_id == "p-1"
    assert row.details == {"changed": ["name"], "n": 2}
    assert row.organization_id == "org-1"
    assert (row.ip, row.user_agent, row.request_id) == ("10.1.2.3", "pytest-agent", "req-42")
    assert row.created_at.tzinfo is not None
    assert len(row.hash) == 64 and row.prev_hash == "0" * 64


def test_client_ip_set_by_auth_wins_over_remote_addr(audit_app: Flask) -> None:
    with audit_app.test_request_context("/x", environ_base={"REMOTE_ADDR": "10.0.0.1"}):
        g.client_ip = "203.0.113.9"
        audit_logger.log(**sample())
    assert count_rows(audit_app, ip="203.0.113.9") == 1


def test_outside_a_request_the_context_fields_are_empty(audit_app: Flask) -> None:
    with audit_app.app_context():
        audit_logger.log(**sample(actor_id=None, resource_id=None, details=None, organization_id=None))
        row = db.session.execute(select(AuditLog)).scalar_one()
    assert (row.ip, row.user_agent, row.request_id, row.actor_id, row.details) == (None, None, None, None, None)


def test_sync_database_errors_surface(audit_app: Flask) -> None:
    with audit_table_missing(audit_app), audit_app.app_context():
        with pytest.raises(Exception, match="audit_log"):
            audit_logger.log(**sample())


BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    ({"action": 5}, "'action' is a int"),
    ({"action": ""}, "'action' must be 1 to 128"),
    ({"resource_type": None}, "'resource_type' is required"),
    ({"actor_id": 7}, "'actor_id' is a int"),
    ({"resource_id": 12}, "'resource_id' is a int"),
    ({"details": ["not", "a", "mapping"]}, "'details' is a list"),
    ({"details": {"when": object()}}, "'details' is not JSON"),
    ({"details": {"x": float("nan")}}, "'details' is not JSON"),
    ({"organization_id": "x" * 300}, "'organization_id' must be 1 to 255"),
]


@pytest.mark.parametrize("method", ["log", "log_async"])
@pytest.mark.parametrize(("bad", "message"), BAD_ENTRIES)
def test_invalid_entries_raise_at_the_call_site(
    audit_app: Flask, method: str, bad: dict[str, Any], message: str
) -> None:
    with audit_app.app_context():
        with pytest.raises(InvalidAuditEntry, match=message):
            getattr(audit_logger, method)(**sample(**bad))
        with pytest.raises(TypeError):  # a missing required field
            getattr(audit_logger, method)(actor_id="u", action="a")
        audit_app.extensions["audit_logger"].flush(30)
    assert count_rows(audit_app) == 0


def test_async_database_errors_are_logged_and_counted_not_raised(
    audit_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    failed_before = metric("audit_entries_failed_total")
    with audit_table_missing(audit_app), audit_app.app_context():
        with caplog.at_level(logging.ERROR, logger="app.modules.audit.writer"):
            audit_logger.log_async(**sample(action="lost.one"))
            audit_logger.log_async(**sample(action="lost.two"))
            assert audit_app.extensions["audit_logger"].flush(30)
    assert metric("audit_entries_failed_total") - failed_before == 2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be written" in logged and "lost.one" in logged and "lost.two" in logged


def test_close_drains_every_accepted_entry(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODULES__AUDIT__BATCH_SIZE", "7")  # many small batches
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "120")  # a drain of 90 s: time enough on a loaded machine
    app = make_app(MODULES__AUDIT="true", MODULES__AUTH="false")
    written_before = metric("audit_entries_written_total")
    with hold_chain_lock(app.config["SQLALCHEMY_DATABASE_URI"]):
        with app.app_context():
            for number in range(1500):
                audit_logger.log_async(**sample(resource_id=f"p-{number}"))
        # The writer cannot commit while we hold the chain's lock: every entry is still queued.
        assert app.extensions["audit_logger"]._writer.pending == 1500
    close_modules(app)
    assert count_rows(app) == 1500
    assert metric("audit_entries_written_total") - written_before == 1500
    assert app.extensions["audit_logger"].flush(0)


def test_log_async_after_close_still_writes(audit_app: Flask) -> None:
    close_modules(audit_app)
    with audit_app.app_context():
        audit_logger.log_async(**sample(action="late"))
    assert count_rows(audit_app, action="late") == 1


def test_async_entries_are_written_in_order_with_a_valid_chain(audit_app: Flask) -> None:
    from app.modules.audit.verify import verify_chain

    with audit_app.app_context():
        audit_logger.log(**sample(action="first"))
        for number in range(50):
            audit_logger.log_async(**sample(resource_id=str(number)))
        assert audit_app.extensions["audit_logger"].flush(30)
        audit_logger.log(**sample(action="last"))
        with db.engine.connect() as conn:
            result = verify_chain(conn, audit_app.extensions["audit"].keyring)
        ids = db.session.execute(select(AuditLog.resource_id).where(AuditLog.action == "project.update")
                                 .order_by(AuditLog.id)).scalars().all()
    assert result.ok and result.checked == 52
    assert ids == [str(n) for n in range(50)]
