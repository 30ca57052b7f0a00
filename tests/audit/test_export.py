"""flask audit export: JSON lines or CSV, the same filters as the API, progress on stderr."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Flask

from app.modules import audit_logger
from tests.audit.conftest import sample


def _seed(app: Flask) -> None:
    with app.app_context():
        for number in range(12):
            audit_logger.log(**sample(actor_id=f"user-{number % 2}", details={"n": number, "text": "é,\"q\""}))


def test_export_jsonl_to_a_file_oldest_first(audit_app: Flask, tmp_path: Path) -> None:
    _seed(audit_app)
    target = tmp_path / "audit.jsonl"
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "export", "-o", str(target), "--actor", "user-1"])
    assert outcome.exit_code == 0, outcome.output
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["details"]["n"] for line in lines] == [1, 3, 5, 7, 9, 11]
    assert all(line["actorId"] == "user-1" and len(line["hash"]) == 64 for line in lines)
    assert "exported 6 entries" in outcome.output  # stderr is mixed into output by the runner


def test_export_csv_to_stdout_keeps_details_as_json(audit_app: Flask) -> None:
    _seed(audit_app)
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "export", "--format", "csv", "--after", "2000-01-01"])
    assert outcome.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(outcome.stdout)))
    assert len(rows) == 12
    assert json.loads(rows[0]["details"]) == {"n": 0, "text": "é,\"q\""}
    assert rows[0]["action"] == "project.update"


def test_export_rejects_a_bad_date(audit_app: Flask) -> None:
    outcome = audit_app.test_cli_runner().invoke(args=["audit", "export", "--before", "someday"])
    assert outcome.exit_code == 2 and "ISO 8601" in outcome.output
