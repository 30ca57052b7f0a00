"""The spool: lines are in the file when log_async returns, live segments are never claimed, a dead
process's segment is replayed once, a torn last line is ignored, segments rotate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules import audit_logger, close_modules
from app.modules.audit.models import AuditLog
from app.modules.audit.spool import claim_dead
from tests.audit.conftest import AUDIT_ON, count_rows, hold_chain_lock, sample


def _spool(app: Flask) -> Path:
    return Path(app.extensions["audit"].settings.spool_dir)


def _lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_bytes().splitlines()]


def test_log_async_returns_with_the_entry_in_the_spool(audit_app: Flask) -> None:
    with hold_chain_lock(audit_app.config["SQLALCHEMY_DATABASE_URI"]):
        context = audit_app.test_request_context("/x", headers={"User-Agent": "ua"},
                                                 environ_base={"REMOTE_ADDR": "10.9.8.7"})
        with context:
            audit_logger.log_async(**sample(details={"name": "é", "n": 1}))
        lines = _lines(_spool(audit_app))
    assert len(lines) == 1
    line = lines[0]
    assert (line["action"], line["details"], line["ip"], line["user_agent"]) == (
        "project.update", {"name": "é", "n": 1}, "10.9.8.7", "ua")
    assert len(line["entry_id"]) == 32 and isinstance(line["created_us"], int)
    assert audit_app.extensions["audit_logger"].flush(30)
    with audit_app.app_context():
        row = db.session.execute(select(AuditLog)).scalar_one()
    assert row.entry_id == line["entry_id"] and row.details == {"name": "é", "n": 1}
    close_modules(audit_app)
    assert list(_spool(audit_app).iterdir()) == []  # written: nothing left behind


def test_a_live_segment_is_never_claimed(audit_app: Flask) -> None:
    with hold_chain_lock(audit_app.config["SQLALCHEMY_DATABASE_URI"]):
        with audit_app.app_context():
            audit_logger.log_async(**sample())
        assert list(_spool(audit_app).glob("*.jsonl"))
        assert list(claim_dead(_spool(audit_app), include_held=True)) == []


def test_replaying_a_segment_twice_writes_each_entry_once(make_app: Any, tmp_path: Path) -> None:
    spool = tmp_path / "shared-spool"
    first = make_app(**AUDIT_ON, MODULES__AUDIT__SPOOL_DIR=str(spool))
    with hold_chain_lock(first.config["SQLALCHEMY_DATABASE_URI"]):
        with first.app_context():
            for number in range(30):
                audit_logger.log_async(**sample(resource_id=str(number)))
        segment = next(spool.glob("*.jsonl"))
        copy = segment.read_bytes()
    assert first.extensions["audit_logger"].flush(30)
    close_modules(first)
    assert count_rows(first) == 30
    # The same lines again, as if the process had died after the commit and before the unlink.
    (spool / "00000000000000000001-1.jsonl").write_bytes(copy + b'{"torn": ')
    second = make_app(**AUDIT_ON, MODULES__AUDIT__SPOOL_DIR=str(spool))
    assert second.extensions["audit_logger"].flush(30)
    close_modules(second)
    assert list(spool.iterdir()) == []
    assert count_rows(second) == 30


def test_segments_rotate_and_finished_ones_are_removed(make_app: Any, tmp_path: Path) -> None:
    spool = tmp_path / "rotating"
    app = make_app(**AUDIT_ON, MODULES__AUDIT__SPOOL_DIR=str(spool), MODULES__AUDIT__SEGMENT_BYTES="4096")
    with hold_chain_lock(app.config["SQLALCHEMY_DATABASE_URI"]):
        with app.app_context():
            for number in range(100):
                audit_logger.log_async(**sample(resource_id=str(number)))
        assert len(list(spool.glob("*.jsonl"))) >= 3
    assert app.extensions["audit_logger"].flush(30)
    assert len(list(spool.glob("*.jsonl"))) == 1  # only the one still appended to
    close_modules(app)
    assert list(spool.iterdir()) == []
    with app.app_context():
        ids = db.session.execute(select(AuditLog.resource_id).order_by(AuditLog.id)).scalars().all()
    assert ids == [str(n) for n in range(100)]


CHILD = """
import os, sys
from app import create_app
from app.modules import audit_logger, ensure_ready
app = create_app({"APP_ENV": "testing", "AUTH__SECRET": "x" * 40, "DATABASE_URL": sys.argv[1],
                  "MODULES__AUDIT": "true", "MODULES__AUTH": "false", "MODULES__AUDIT__SPOOL_DIR": sys.argv[2]})
with app.app_context():
    for number in range(int(sys.argv[3])):
        audit_logger.log_async(actor_id=None, action="child.entry", resource_type="test", resource_id=str(number))
os.kill(os.getpid(), 9)
"""


def test_a_process_killed_right_after_log_async_loses_nothing(make_app: Any, tmp_path: Path) -> None:
    spool = tmp_path / "killed"
    app: Flask = make_app(**AUDIT_ON, MODULES__AUDIT__SPOOL_DIR=str(spool))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    root = Path(__file__).resolve().parents[2]
    with hold_chain_lock(url):  # the child's writer cannot write anything before it dies
        done = subprocess.run([sys.executable, "-c", CHILD, url, str(spool), "250"], cwd=root,
                              env={**os.environ, "APP_ENV_FILE": ""}, capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr
    assert count_rows(app, action="child.entry") == 0
    # Any process of the instance writes it: here this one, whose writer also looks every 5 s by itself.
    deadline = time.monotonic() + 60
    while count_rows(app, action="child.entry") < 250 and time.monotonic() < deadline:
        app.extensions["audit_logger"]._writer.recover(include_held=True)
        time.sleep(0.1)
    assert count_rows(app, action="child.entry") == 250
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("method", ["log", "log_async"])
def test_both_paths_store_the_same_hashable_entry(audit_app: Flask, method: str) -> None:
    from app.modules.audit.verify import verify_chain

    with audit_app.app_context():
        getattr(audit_logger, method)(**sample(details={"nested": {"a": [1, 2.5, None, "ü"]}, "big": 10**18}))
        assert audit_app.extensions["audit_logger"].flush(30)
        with db.engine.connect() as conn:
            assert verify_chain(conn, audit_app.extensions["audit"].keyring).ok
        row = db.session.execute(select(AuditLog)).scalar_one()
    assert row.details == {"nested": {"a": [1, 2.5, None, "ü"]}, "big": 10**18}
