"""With both modules on, the auth module records its own events through the audit logger."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tests.auth.helpers import PASSWORD, post, sign_in, sign_up


def _entries(app: Flask) -> list[dict[str, Any]]:
    from app.modules.audit.models import AuditLog

    assert app.extensions["audit_logger"].flush(10)
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        return [
            {"action": r.action, "actor_id": r.actor_id, "details": r.details, "ip": r.ip, "request_id": r.request_id}
            for r in rows
        ]


def test_auth_events_are_audited_without_secrets(make_app: Any) -> None:
    app: Flask = make_app(MODULES__AUDIT="true")
    client = app.test_client()
    user_id = sign_up(client, "a@example.com")["user"]["id"]
    assert sign_in(app.test_client(), "a@example.com", "wrong password here").status_code == 401
    assert sign_in(client, "a@example.com").status_code == 200
    post(client, "/change-password", {"currentPassword": PASSWORD, "newPassword": "another password"})
    post(client, "/sign-out")
    entries = _entries(app)
    actions = [e["action"] for e in entries]
    for action in ("user.sign_up", "auth.sign_in.failure", "auth.sign_in", "user.password_change", "auth.sign_out"):
        assert action in actions
    success = next(e for e in entries if e["action"] == "auth.sign_in")
    assert success["actor_id"] == user_id and success["request_id"] and success["ip"] == "127.0.0.1"
    dumped = json.dumps(entries)
    assert PASSWORD not in dumped and "wrong password here" not in dumped and "another password" not in dumped
