"""The keyed chain (HMAC-SHA256, key id per entry) and anchors: the attacks of the security review.

Each attack is done the way someone with write access to the table would do it, with SQL and the
old unkeyed formula; each must make ``flask audit verify`` fail.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, update

from app.extensions import db
from app.modules import audit_logger
from app.modules.audit.chain import HASHED_FIELDS, format_time, table
from config import ConfigError
from tests.audit.conftest import AUDIT_ON, TEST_AUDIT_KEY, sample

OTHER_KEY = "another-audit-key-9876543210-zyxwvutsrqponmlkjihgfedcba"


def _write(app: Flask, count: int, **fields: Any) -> list[int]:
    with app.app_context():
        for number in range(count):
            audit_logger.log(**sample(resource_id=str(number), **fields))
        return list(db.session.execute(select(table.c.id).order_by(table.c.id)).scalars())


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    outcome = app.test_cli_runner().invoke(args=["audit", *args])
    return outcome.exit_code, outcome.output


def _sha256(row: dict[str, Any], prev_hash: str) -> str:
    """The unkeyed formula of the chain before keys: what an attacker without the key can compute."""
    payload = {name: row.get(name) for name in HASHED_FIELDS}
    payload["created_at"] = format_time(row["created_at"])
    payload["prev_hash"] = prev_hash
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def _rechain(
    app: Flask, start_id: int, *, edit: dict[int, dict[str, Any]], unkey: bool, stop_id: int | None = None
) -> None:
    """Rewrite rows from ``start_id`` (to ``stop_id``) with SQL, recomputing the hashes without the key."""
    with app.app_context(), db.engine.begin() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
        prev = "0" * 64
        for row in rows:
            entry = dict(row)
            if entry["id"] >= start_id and (stop_id is None or entry["id"] <= stop_id):
                entry.update(edit.get(entry["id"], {}))
                if unkey:
                    entry["key_id"] = None
                entry["prev_hash"] = prev
                entry["hash"] = _sha256(entry, prev)
                conn.execute(update(table).where(table.c.id == entry["id"]).values(
                    {k: v for k, v in entry.items() if k != "id"}))
            prev = entry["hash"]


@pytest.fixture
def keyed_app(make_app: Any) -> Flask:
    app: Flask = make_app(**AUDIT_ON)
    return app


def test_entries_are_signed_with_the_key_id(keyed_app: Flask) -> None:
    _write(keyed_app, 3)
    with keyed_app.app_context():
        rows = db.session.execute(select(table.c.key_id, table.c.entry_id)).all()
    assert {row.key_id for row in rows} == {"t1"} and all(len(row.entry_id) == 32 for row in rows)
    code, output = _cli(keyed_app, "verify")
    assert code == 0 and "intact: 3 entries" in output


def test_rewriting_an_entry_and_rehashing_the_rest_is_detected(keyed_app: Flask) -> None:
    ids = _write(keyed_app, 8)
    _rechain(keyed_app, ids[3], edit={ids[3]: {"details": {"name": "forged"}}}, unkey=False)
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and f"entry {ids[3]} was altered" in output


def test_rewriting_as_unkeyed_entries_is_a_downgrade(keyed_app: Flask) -> None:
    ids = _write(keyed_app, 8)
    _rechain(keyed_app, ids[3], edit={ids[3]: {"actor_id": "someone-else"}}, unkey=True)
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and f"entry {ids[3]} is unkeyed after keyed entries" in output


def test_rewriting_everything_as_unkeyed_is_detected(keyed_app: Flask, make_app: Any, tmp_path: Path) -> None:
    ids = _write(keyed_app, 6)
    anchor = tmp_path / "anchor.json"
    assert _cli(keyed_app, "anchor", "-o", str(anchor))[0] == 0
    _rechain(keyed_app, ids[0], edit={ids[2]: {"details": {"name": "forged"}}}, unkey=True)
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and f"entry {ids[0]} is unkeyed (rewritten without the key?)" in output
    # Even where entries up to the last one may be legacy (a careless setting), the anchor tells.
    lenient = make_app(**AUDIT_ON, MODULES__AUDIT__LEGACY_UNTIL=str(ids[-1]))
    assert _cli(lenient, "verify")[0] == 0
    code, output = _cli(lenient, "verify", "--anchor", str(anchor))
    assert code == 1
    assert f"entry {ids[-1]} differs from the anchor" in output


def test_deleting_the_oldest_and_forging_a_prune_entry_is_detected(keyed_app: Flask) -> None:
    ids = _write(keyed_app, 10)
    with keyed_app.app_context(), db.engine.begin() as conn:
        last_deleted = conn.execute(select(table).where(table.c.id == ids[3])).mappings().one()
        head = conn.execute(select(table).where(table.c.id == ids[-1])).mappings().one()
        conn.execute(delete(table).where(table.c.id <= ids[3]))
        forged: dict[str, Any] = {
            "actor_id": None, "action": "audit.pruned", "resource_type": "audit_log", "resource_id": None,
            "details": {"deleted": 4, "cutoff": datetime.now(UTC).isoformat(), "anchor_id": ids[3],
                        "anchor_hash": last_deleted["hash"]},
            "organization_id": None, "ip": None, "user_agent": None, "request_id": None,
            "created_at": datetime.now(UTC), "entry_id": "e" * 32, "key_id": "t1", "prev_hash": head["hash"],
        }
        forged["hash"] = _sha256(forged, head["hash"])  # the key is what the forger lacks
        conn.execute(insert(table).values(**forged))
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and "was altered" in output
    # The forged entry as an unkeyed one fares no better.
    with keyed_app.app_context(), db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.entry_id == "e" * 32).values(key_id=None))
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and "is unkeyed after keyed entries" in output


def test_truncating_the_newest_entries_is_caught_by_the_anchor(keyed_app: Flask, tmp_path: Path) -> None:
    ids = _write(keyed_app, 10)
    anchor = tmp_path / "anchor.json"
    assert _cli(keyed_app, "anchor", "-o", str(anchor))[0] == 0
    _write(keyed_app, 2)  # later entries do not disturb an older anchor
    assert _cli(keyed_app, "verify", "--anchor", str(anchor))[0] == 0
    with keyed_app.app_context(), db.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.id >= ids[7]))
    assert _cli(keyed_app, "verify")[0] == 0  # the chain alone cannot tell: a shorter chain is valid
    code, output = _cli(keyed_app, "verify", "--anchor", str(anchor))
    assert code == 1
    assert "the newest entries were removed: the anchor of" in output and f"names entry {ids[-1]}" in output


def test_a_forged_or_foreign_anchor_is_rejected(keyed_app: Flask, make_app: Any, tmp_path: Path) -> None:
    _write(keyed_app, 3)
    code, printed = _cli(keyed_app, "anchor")
    assert code == 0
    anchor = json.loads(printed)
    assert set(anchor) == {"version", "sequence", "hash", "time", "key_id", "signature"}
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**anchor, "sequence": anchor["sequence"] - 1}))
    code, output = _cli(keyed_app, "verify", "--anchor", str(forged))
    assert code == 1 and "signature does not verify" in output
    other = make_app(**{**AUDIT_ON, "MODULES__AUDIT__KEY": OTHER_KEY, "MODULES__AUDIT__KEY_ID": "x9"})
    foreign = tmp_path / "foreign.json"
    assert _cli(other, "anchor", "-o", str(foreign))[0] == 0
    code, output = _cli(keyed_app, "verify", "--anchor", str(foreign))
    assert code == 1 and "key id 'x9', which is not configured" in output


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/anchors"
    server.shutdown()


def test_anchor_posted_to_a_url(keyed_app: Flask, receiver: str, tmp_path: Path) -> None:
    _write(keyed_app, 2)
    code, output = _cli(keyed_app, "anchor", "--url", receiver)
    assert code == 0, output
    assert len(_Receiver.received) == 1
    stored = tmp_path / "posted.json"
    stored.write_text(json.dumps(_Receiver.received[0]))
    assert _cli(keyed_app, "verify", "--anchor", str(stored))[0] == 0
    code, output = _cli(keyed_app, "anchor", "--url", "http://127.0.0.1:1/anchors")  # nobody listens
    assert code == 1 and "could not POST the anchor" in output
    code, output = _cli(keyed_app, "anchor", "--url", "file:///etc/passwd")
    assert code == 2 and "expected an http:// or https:// URL" in output


def test_rotation_keeps_old_entries_verifiable(make_app: Any) -> None:
    first: Flask = make_app(**AUDIT_ON)
    _write(first, 3)
    rotated: Flask = make_app(**{**AUDIT_ON, "MODULES__AUDIT__KEY": OTHER_KEY, "MODULES__AUDIT__KEY_ID": "t2",
                                 "MODULES__AUDIT__PREVIOUS_KEYS": f"t1:{TEST_AUDIT_KEY}"})
    _write(rotated, 2)
    with rotated.app_context():
        key_ids = db.session.execute(select(table.c.key_id).order_by(table.c.id)).scalars().all()
    assert key_ids == ["t1", "t1", "t1", "t2", "t2"]
    code, output = _cli(rotated, "verify")
    assert code == 0 and "intact: 5 entries" in output
    forgotten: Flask = make_app(**{**AUDIT_ON, "MODULES__AUDIT__KEY": OTHER_KEY, "MODULES__AUDIT__KEY_ID": "t2"})
    code, output = _cli(forgotten, "verify")
    assert code == 1 and "key id 't1', which is not configured" in output


def test_legacy_unkeyed_entries_first_still_verify(keyed_app: Flask, make_app: Any) -> None:
    ids = _write(keyed_app, 3)
    _rechain(keyed_app, ids[0], edit={}, unkey=True)  # as written before the keyed chain existed
    _write(keyed_app, 2)  # the first keyed entry's HMAC covers the last legacy hash
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and "only entries up to 0 (MODULES__AUDIT__LEGACY_UNTIL)" in output
    keyed_app = make_app(**AUDIT_ON, MODULES__AUDIT__LEGACY_UNTIL=str(ids[2]))  # as the upgrade said
    code, output = _cli(keyed_app, "verify")
    assert code == 0 and "intact: 5 entries (3 legacy unkeyed entries first)" in output
    # Rewrite a legacy entry and rehash the legacy ones after it: the first keyed entry's link breaks.
    _rechain(keyed_app, ids[1], edit={ids[1]: {"actor_id": "x"}}, unkey=True, stop_id=ids[2])
    code, output = _cli(keyed_app, "verify")
    assert code == 1 and f"entries were removed between entry {ids[2]}" in output


def test_prune_entries_are_keyed_and_the_pruned_hash_is_the_new_genesis(keyed_app: Flask) -> None:
    ids = _write(keyed_app, 5)
    old = datetime.now(UTC) - timedelta(days=40)
    with keyed_app.app_context(), db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id <= ids[2]).values(created_at=old))
    _rechain_keyed(keyed_app)
    code, output = _cli(keyed_app, "prune", "--older-than", "30")
    assert code == 0 and "deleted 3 entries" in output
    with keyed_app.app_context():
        pruned = db.session.execute(select(table).where(table.c.action == "audit.pruned")).mappings().one()
    assert pruned["key_id"] == "t1" and pruned["details"]["anchor_id"] == ids[2]
    assert _cli(keyed_app, "verify")[0] == 0


def _rechain_keyed(app: Flask) -> None:
    """Recompute every hash with the key (the app's own view after a legitimate backdating)."""
    from app.modules.audit.chain import entry_hash

    keyring = app.extensions["audit"].keyring
    with app.app_context(), db.engine.begin() as conn:
        prev = "0" * 64
        for row in conn.execute(select(table).order_by(table.c.id)).mappings().all():
            digest = entry_hash(dict(row), prev, keyring)
            conn.execute(update(table).where(table.c.id == row["id"]).values(prev_hash=prev, hash=digest))
            prev = digest


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"APP_ENV": "production", "MODULES__AUDIT__KEY": ""}, "MODULES__AUDIT__KEY is required in production"),
        ({"MODULES__AUDIT__KEY": "short-key"}, "MODULES__AUDIT__KEY is 9 characters long"),
        ({"MODULES__AUDIT__KEY_ID": "has space"}, "MODULES__AUDIT__KEY_ID='has space' is not a key id"),
        ({"MODULES__AUDIT__PREVIOUS_KEYS": "nokey"}, "MODULES__AUDIT__PREVIOUS_KEYS has an item without ':'"),
        ({"MODULES__AUDIT__PREVIOUS_KEYS": "old:tiny"}, "MODULES__AUDIT__PREVIOUS_KEYS key 'old' is 4 characters"),
    ],
)
def test_bad_keys_stop_the_start_without_showing_them(
    make_app: Any, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        make_app(**{**AUDIT_ON, "MODULES__AUTH": "false", **overrides})
    assert "short-key" not in str(raised.value) and "tiny" not in str(raised.value)


def test_the_key_must_not_be_the_auth_secret(make_app: Any) -> None:
    from tests.conftest import TEST_SECRET

    with pytest.raises(ConfigError, match="MODULES__AUDIT__KEY is the same as AUTH__SECRET"):
        make_app(**{**AUDIT_ON, "MODULES__AUDIT__KEY": TEST_SECRET})


def test_an_upgraded_log_keeps_its_legacy_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.modules import close_modules, ensure_ready
    from tests.conftest import BASE_OVERRIDES

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_app({**BASE_OVERRIDES, "DATABASE_URL": url})
    with old.app_context():
        upgrade(revision="audit_0002_spool")
        prev = "0" * 64
        with db.engine.begin() as conn:  # entries as the unkeyed chain wrote them
            for number in range(3):
                row: dict[str, Any] = {**sample(resource_id=str(number)), "ip": None, "user_agent": None,
                                       "request_id": None, "created_at": datetime.now(UTC)}
                row["prev_hash"], row["hash"] = prev, _sha256(row, prev)
                conn.execute(insert(table).values(**row))  # no key_id: that column comes with audit_0003_keyed
                prev = row["hash"]
        capsys.readouterr()
        upgrade()
    assert "set MODULES__AUDIT__LEGACY_UNTIL=3 so that" in capsys.readouterr().out
    app = create_app({**BASE_OVERRIDES, **AUDIT_ON, "DATABASE_URL": url, "MODULES__AUDIT__LEGACY_UNTIL": "3",
                      "MODULES__AUDIT__SPOOL_DIR": str(tmp_path / "spool")})
    ensure_ready(app)
    try:
        _write(app, 2)
        code, output = _cli(app, "verify")
        assert code == 0 and "intact: 5 entries (3 legacy unkeyed entries first)" in output
    finally:
        close_modules(app)

