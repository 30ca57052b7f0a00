"""flask audit verify names the first entry altered, removed or inserted; prune keeps the chain valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from app.extensions import db
from app.modules import audit_logger
from app.modules.audit.chain import entry_hash, table
from app.modules.audit.models import AuditLog
from tests.audit.conftest import audit_keyring, count_rows, sample


def _write(app: Flask, count: int) -> list[int]:
    with app.app_context():
        for number in range(count):
            audit_logger.log(**sample(resource_id=str(number)))
        return list(db.session.execute(select(AuditLog.id).order_by(AuditLog.id)).scalars())


def _verify(app: Flask) -> tuple[int, str]:
    runner = app.test_cli_runner()
    outcome = runner.invoke(args=["audit", "verify"])
    return outcome.exit_code, outcome.output


def _sql(app: Flask, statement: object) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_an_intact_chain_verifies(audit_app: Flask) -> None:
    _write(audit_app, 5)
    code, output = _verify(audit_app)
    assert code == 0, output
    assert "intact: 5 entries" in output


def test_an_empty_log_verifies(audit_app: Flask) -> None:
    code, output = _verify(audit_app)
    assert code == 0 and "intact: 0 entries" in output


def test_verify_names_an_edited_row(audit_app: Flask) -> None:
    ids = _write(audit_app, 5)
    _sql(audit_app, update(table).where(table.c.id == ids[2]).values(details={"name": "forged"}))
    code, output = _verify(audit_app)
    assert code == 1
    assert f"entry {ids[2]} was altered" in output


@pytest.mark.parametrize("field", ["created_at", "actor_id", "ip"])
def test_every_field_is_covered_by_the_hash(audit_app: Flask, field: str) -> None:
    ids = _write(audit_app, 3)
    value = datetime(2001, 1, 1, tzinfo=UTC) if field == "created_at" else "changed"
    _sql(audit_app, update(table).where(table.c.id == ids[1]).values({field: value}))
    code, output = _verify(audit_app)
    assert code == 1 and f"entry {ids[1]} was altered" in output


def test_verify_names_a_deleted_row(audit_app: Flask) -> None:
    ids = _write(audit_app, 5)
    _sql(audit_app, table.delete().where(table.c.id == ids[2]))
    code, output = _verify(audit_app)
    assert code == 1
    assert f"entries were removed between entry {ids[1]} and entry {ids[3]}" in output


def test_verify_notices_the_oldest_rows_deleted(audit_app: Flask) -> None:
    ids = _write(audit_app, 4)
    _sql(audit_app, table.delete().where(table.c.id <= ids[1]))
    code, output = _verify(audit_app)
    assert code == 1 and f"entries were removed before entry {ids[2]}" in output


@pytest.mark.parametrize("linked", [True, False], ids=["with-a-valid-link", "with-a-made-up-link"])
def test_verify_names_an_inserted_row(audit_app: Flask, linked: bool) -> None:
    ids = _write(audit_app, 4)
    with audit_app.app_context():
        prev = db.session.execute(select(AuditLog).where(AuditLog.id == ids[1])).scalar_one()
        nxt = db.session.execute(select(AuditLog).where(AuditLog.id == ids[2])).scalar_one()
        forged = {
            "actor_id": "intruder", "action": "project.update", "resource_type": "project", "resource_id": "x",
            "details": None, "organization_id": None, "ip": None, "user_agent": None, "request_id": None,
            "created_at": prev.created_at, "entry_id": "f" * 32, "key_id": "t1",
        }
        prev_hash = prev.hash if linked else "f" * 64  # an insider with the key: only the links betray it
        # Make room between ids[1] and ids[2] by moving the later rows up.
        with db.engine.begin() as conn:
            for old in reversed(ids[2:]):
                conn.execute(update(table).where(table.c.id == old).values(id=old + 100))
            conn.execute(insert(table).values(
                id=nxt.id, **forged, prev_hash=prev_hash, hash=entry_hash(forged, prev_hash, audit_keyring())
            ))
    code, output = _verify(audit_app)
    assert code == 1
    assert f"entry {ids[2]} was inserted between {ids[1]} and {ids[2] + 100}" in output


def test_prune_deletes_old_entries_and_the_chain_still_verifies(audit_app: Flask) -> None:
    ids = _write(audit_app, 6)
    old = datetime.now(UTC) - timedelta(days=40)
    _reseal(audit_app, [(i, old) for i in ids[:4]])
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "30"])
    assert outcome.exit_code == 0, outcome.output
    assert "deleted 4 entries" in outcome.output
    assert count_rows(audit_app, action="project.update") == 2
    assert count_rows(audit_app, action="audit.pruned") == 1
    code, output = _verify(audit_app)
    assert code == 0, output
    # Removing the survivors' predecessor by hand is still noticed.
    _sql(audit_app, table.delete().where(table.c.id == ids[4]))
    code, output = _verify(audit_app)
    assert code == 1 and f"removed before entry {ids[5]}" in output


def test_prune_uses_the_retention_setting(make_app: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODULES__AUDIT__RETENTION_DAYS", "10")
    app: Flask = make_app(MODULES__AUDIT="true", MODULES__AUTH="false")  # type: ignore[operator]
    ids = _write(app, 3)
    _reseal(app, [(ids[0], datetime.now(UTC) - timedelta(days=11))])
    outcome = app.test_cli_runner().invoke(args=["audit", "prune"])
    assert outcome.exit_code == 0, outcome.output
    assert "deleted 1 entries" in outcome.output
    assert _verify(app)[0] == 0


def test_prune_without_days_says_what_to_give(audit_app: Flask) -> None:
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "prune"])
    assert outcome.exit_code == 2
    assert "MODULES__AUDIT__RETENTION_DAYS" in outcome.output


def test_prune_never_leaves_a_hole_when_times_are_out_of_order(audit_app: Flask) -> None:
    ids = _write(audit_app, 3)
    old = datetime.now(UTC) - timedelta(days=40)
    _reseal(audit_app, [(ids[0], old), (ids[2], old)])  # ids[1] is young: ids[2] must stay too
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "30"])
    assert "deleted 1 entries" in outcome.output
    assert count_rows(audit_app, action="project.update") == 2
    assert _verify(audit_app)[0] == 0


def _reseal(app: Flask, changes: list[tuple[int, datetime]]) -> None:
    """Backdate entries and recompute the chain, as if they had been written then."""
    wanted = dict(changes)
    with app.app_context(), db.engine.begin() as conn:
        prev = "0" * 64
        for row in conn.execute(select(table).order_by(table.c.id)).mappings().all():
            entry = dict(row)
            entry["created_at"] = wanted.get(row["id"], row["created_at"])
            digest = entry_hash(entry, prev, app.extensions["audit"].keyring)
            conn.execute(update(table).where(table.c.id == row["id"]).values(
                created_at=entry["created_at"], prev_hash=prev, hash=digest
            ))
            prev = digest
