"""Shared by the api-key tests: an app with guarded application routes, and key helpers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from app.core.identity import current
from app.extensions import db
from app.modules import require_auth, require_permission, require_role
from app.modules.auth.api_key.models import ApiKey
from tests.auth.helpers import post, sign_up

API = "/api/v1/auth"


def add_guarded_routes(app: Flask) -> Flask:
    """Application routes behind each guard, as a product would write them."""
    bp = Blueprint("key_probe", __name__, url_prefix="/api/v1/probe")

    @bp.get("/auth")
    @require_auth
    def authed() -> Any:
        return jsonify(user=current().user.id, source=current().credential, organization=current().organization_id)

    @bp.get("/admin")
    @require_role("admin")
    def admin_only() -> Any:
        return jsonify(ok=True)

    @bp.get("/projects")
    @require_permission({"project": ["read"]})
    def read_projects() -> Any:
        return jsonify(ok=True)

    @bp.post("/projects")
    @require_permission({"project": ["create"]})
    def create_project() -> Any:
        return jsonify(ok=True)

    app.register_blueprint(bp)
    return app


def signed_in_client(app: Flask, email: str = "owner@example.com") -> tuple[Any, dict[str, Any]]:
    client = app.test_client()
    body = sign_up(client, email)
    return client, body["user"]


def create_key(client: Any, **body: Any) -> dict[str, Any]:
    response = post(client, "/api-key/create", body)
    assert response.status_code == 200, response.json
    created: dict[str, Any] = response.json
    return created


def key_headers(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def stored_key(app: Any, key_id: str) -> ApiKey | None:
    """The key's row as the database holds it now, detached (readable after the app context)."""
    with app.app_context():
        row = db.session.get(ApiKey, key_id)
        if row is not None:
            db.session.expunge(row)
        return row
