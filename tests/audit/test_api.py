"""GET /api/v1/audit: filters, cursor pagination, limits, the admin guard, the OpenAPI entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.modules import audit_logger
from tests.audit.conftest import sample


def _seed(app: Flask) -> None:
    with app.app_context():
        for number in range(25):
            audit_logger.log(**sample(
                actor_id=f"user-{number % 3}",
                action="project.update" if number % 2 else "project.create",
                resource_type="project" if number < 20 else "invoice",
                resource_id=f"r-{number % 5}",
                organization_id="org-a" if number < 10 else "org-b",
                details={"n": number},
            ))


def _get(app: Flask, **params: Any) -> Any:
    response = app.test_client().get("/api/v1/audit", query_string=params)
    return response


def _numbers(body: dict[str, Any]) -> list[int]:
    return [entry["details"]["n"] for entry in body["entries"]]


def test_lists_newest_first_in_better_auth_json_shape(audit_app: Flask) -> None:
    _seed(audit_app)
    body = _get(audit_app).get_json()
    assert _numbers(body) == list(range(24, -1, -1))
    assert body["nextCursor"] is None
    first = body["entries"][0]
    assert set(first) == {
        "id", "actorId", "action", "resourceType", "resourceId", "details", "organizationId",
        "ip", "userAgent", "requestId", "createdAt", "prevHash", "hash",
    }
    assert first["createdAt"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actorId": "user-1"}, [n for n in range(25) if n % 3 == 1]),
        ({"action": "project.create"}, [n for n in range(25) if n % 2 == 0]),
        ({"resourceType": "invoice"}, list(range(20, 25))),
        ({"resourceType": "project", "resourceId": "r-2"}, [2, 7, 12, 17]),
        ({"organizationId": "org-a"}, list(range(10))),
        ({"actorId": "user-0", "organizationId": "org-b", "action": "project.update"}, [15, 21]),
    ],
)
def test_filters(audit_app: Flask, params: dict[str, str], expected: Sequence[int]) -> None:
    _seed(audit_app)
    assert sorted(_numbers(_get(audit_app, **params).get_json())) == sorted(expected)


def test_after_and_before_filter_on_creation_time(audit_app: Flask) -> None:
    _seed(audit_app)
    entries = _get(audit_app).get_json()["entries"]
    middle = entries[12]["createdAt"]
    newer = _numbers(_get(audit_app, after=middle).get_json())
    older = _numbers(_get(audit_app, before=middle).get_json())
    assert all(n > 12 for n in newer) and all(n < 12 for n in older)
    assert 12 not in newer + older
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert _get(audit_app, after=future).get_json()["entries"] == []


def test_cursor_pagination_walks_every_entry_once(audit_app: Flask) -> None:
    _seed(audit_app)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7, "organizationId": "org-b"}
        if cursor:
            params["cursor"] = cursor
        body = _get(audit_app, **params).get_json()
        seen += _numbers(body)
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == list(range(24, 9, -1))
    assert pages == 3


@pytest.mark.parametrize("params", [{"limit": 1001}, {"limit": 0}, {"after": "yesterday"}])
def test_invalid_query_is_a_400(audit_app: Flask, params: dict[str, Any]) -> None:
    response = _get(audit_app, **params)
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_ERROR"


def test_limit_up_to_1000_is_accepted(audit_app: Flask) -> None:
    _seed(audit_app)
    assert len(_get(audit_app, limit=1000).get_json()["entries"]) == 25


def test_a_forged_cursor_is_a_400(audit_app: Flask) -> None:
    response = _get(audit_app, cursor="not-a-cursor")
    assert response.status_code == 400
    assert response.get_json()["code"] == "INVALID_CURSOR"


def test_documented_in_openapi(audit_app: Flask) -> None:
    document = audit_app.test_client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/audit"]["get"]
    assert operation["tags"] == ["Audit"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"actorId", "action", "resourceType", "resourceId", "organizationId", "after", "before",
            "cursor", "limit"} <= names
    assert "AuditPage" in document["components"]["schemas"]
    assert operation["security"]


def test_the_document_is_valid_openapi(audit_app: Flask) -> None:
    from openapi_spec_validator import validate

    validate(audit_app.test_client().get("/api/v1/openapi.json").get_json())
