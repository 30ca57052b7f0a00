"""Guards decide, and the OpenAPI document says what they decide.

An operation's ``security`` is derived from its guards; these tests check the derivation against
what the server does: every operation documented as secured refuses an anonymous caller with 401
once it is reached, none documented as open answers better-auth's 401 ``UNAUTHORIZED``, and on
application routes the guard answers before body validation (401 before any 400 or 415).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from pydantic import BaseModel

import app.core.api as core_api
from app.core.api import guards_of, requires_identity
from app.core.openapi import build_document
from app.modules.guards import require_auth
from tests.auth.helpers import ORIGIN

ALL_ON = {
    "MODULES__AUDIT": "true",
    "MODULES__TENANT": "true",
    "MODULES__EXAMPLE": "true",
    "AUTH__ORGANIZATION__TEAMS__ENABLED": "true",
    "AUTH__PASSKEY__ENABLED": "true",
    "AUTH__MAGIC_LINK__ENABLED": "true",
    "AUTH__EMAIL_OTP__ENABLED": "true",
}
AUTH = "/api/v1/auth/"


def _operations(app: Flask) -> list[tuple[str, str, dict[str, Any], Any]]:
    """(method, concrete path, documented operation, view) for every documented operation."""
    document = build_document(app)
    views = {}
    for rule in app.url_map.iter_rules():
        views[re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)] = app.view_functions[rule.endpoint]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            found.append((method, re.sub(r"\{[^}]+\}", "x", path), operation, views[path]))
    return found


def test_security_is_documented_exactly_where_a_guard_needs_identity(make_app: Any) -> None:
    app = make_app(**ALL_ON)
    operations = _operations(app)
    assert len(operations) > 100
    for method, path, operation, view in operations:
        assert ("security" in operation) == requires_identity(view), (method, path, guards_of(view))
        assert ("401" in operation["responses"]) >= ("security" in operation), (method, path)
    secured = {(m, p) for m, p, op, _ in operations if "security" in op}
    assert ("get", "/api/v1/me") in secured and ("get", "/api/v1/audit") in secured
    assert ("get", "/api/v1/auth/list-sessions") in secured
    assert ("post", "/api/v1/auth/sign-in/email") not in secured


def test_secured_operations_refuse_anonymous_and_open_ones_do_not(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reached without valid input (validation bypassed), a guarded operation answers 401; an
    operation documented as open never answers better-auth's 401 ``UNAUTHORIZED``."""

    def unvalidated(model: type[BaseModel]) -> Any:
        return model.model_construct()

    monkeypatch.setattr(core_api, "parse_body", unvalidated)
    monkeypatch.setattr(core_api, "parse_query", unvalidated)
    app = make_app(**ALL_ON)
    client = app.test_client()
    disagreements = []
    operations = _operations(app)
    assert sum("security" in operation for _, _, operation, _ in operations) > 60
    for method, path, operation, _view in operations:
        response = client.open(path, method=method.upper(), json={}, headers=ORIGIN)
        body = response.get_json(silent=True) or {}
        if "security" in operation:
            if response.status_code != 401:
                disagreements.append(("secured but answered", method, path, response.status_code, body))
        elif response.status_code == 401 and body.get("code") == "UNAUTHORIZED":
            disagreements.append(("open but refused", method, path, body))
    assert disagreements == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/v1/projects", {"json": {"name": ""}}),  # invalid body: 400 if validated first
        ("post", "/api/v1/projects", {"data": "x", "content_type": "text/plain"}),  # 415 if validated first
        ("patch", "/api/v1/projects/x", {"json": {"name": 7}}),
        ("post", "/api/v1/projects/bulk-delete", {"json": {}}),
        ("get", "/api/v1/audit", {"query_string": {"limit": "not-a-number"}}),
    ],
)
def test_application_guards_answer_before_validation(make_app: Any, method: str, path: str,
                                                     kwargs: dict[str, Any]) -> None:
    app = make_app(MODULES__AUDIT="true", MODULES__TENANT="true", MODULES__EXAMPLE="true")
    response = app.test_client().open(path, method=method.upper(), headers=ORIGIN, **kwargs)
    assert (response.status_code, response.json["code"]) == (401, "UNAUTHORIZED")


def test_auth_routes_keep_better_auths_order_body_first(client: Any) -> None:
    """better-auth validates the body before its session middleware: an anonymous invalid body is 400."""
    response = client.post(f"{AUTH}change-password", json={}, headers=ORIGIN)
    assert (response.status_code, response.json["code"]) == (400, "VALIDATION_ERROR")
    response = client.post(f"{AUTH}change-password", headers=ORIGIN,
                           json={"currentPassword": "a" * 12, "newPassword": "b" * 12})
    assert (response.status_code, response.json["code"]) == (401, "UNAUTHORIZED")


def test_guard_kinds_are_recorded_through_every_layer() -> None:
    @require_auth
    def view() -> None:
        return None

    documented = core_api.endpoint(summary="x")(view)
    assert guards_of(documented) == ("auth",) and requires_identity(documented)
    assert not requires_identity(core_api.endpoint(summary="y")(lambda: None))


def test_organization_role_checks_go_through_one_policy_function() -> None:
    """``role_allows`` is asked in one place (``member_allows``); routes call that or
    ``require_member_permission``, never an inline check of their own."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "app"
    callers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if "role_allows(" in path.read_text() and path.name not in ("access_control.py", "roles.py"))
    assert callers == ["modules/auth/organization/service.py"]
    routes = root / "modules" / "auth" / "organization"
    for name in ("org_routes.py", "member_routes.py", "invitation_routes.py"):
        assert "require_member_permission(" in (routes / name).read_text(), name
