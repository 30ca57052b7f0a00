"""No input reaches a 500 (issue 14): bounded JSON, checked identifiers, ids that are strings.

Each case was a 500 (or an accepted id of the wrong type) in the black-box review.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.auth.helpers import ORIGIN, post, sign_in, sign_up
from tests.conftest import AppFactory

pytestmark = pytest.mark.modules("tenant", "audit", "example")

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root password 123"


@pytest.fixture
def env(make_app: AppFactory) -> dict[str, Any]:
    app = make_app(
        MODULES__AUDIT="true", MODULES__TENANT="true", MODULES__EXAMPLE="true",
        ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD
    )
    user = app.test_client()
    user_id = sign_up(user, "ada@example.com")["user"]["id"]
    post(user, "/organization/create", {"name": "Acme", "slug": "acme"})
    root = app.test_client()
    assert sign_in(root, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    return {"app": app, "user": user, "user_id": user_id, "root": root}


def _refused(response: Any, status: int = 400, code: str = "VALIDATION_ERROR") -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.json["code"] == code and response.json["message"]


def _raw(client: Any, path: str, data: str) -> Any:
    return client.post(path, data=data, headers={**ORIGIN, "Content-Type": "application/json"})


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_a_400(app: Flask, depth: int) -> None:
    body = '{"email":' + "[" * depth + "]" * depth + "}"
    _refused(_raw(app.test_client(), "/api/v1/auth/sign-in/email", body))


def test_json_nested_within_the_bound_is_answered_as_usual(app: Flask) -> None:
    body = '{"email": "a@example.com", "password": "x", "extra": ' + "[" * 20 + "]" * 20 + "}"
    response = _raw(app.test_client(), "/api/v1/auth/sign-in/email", body)
    assert response.status_code == 401


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000, "1" + "0" * 400])
def test_huge_integers_are_a_400(app: Flask, number: str) -> None:
    body = '{"email": "a@example.com", "password": "x", "rememberMe": ' + number + "}"
    _refused(_raw(app.test_client(), "/api/v1/auth/sign-in/email", body))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_a_400(app: Flask, constant: str) -> None:
    body = '{"email": "a@example.com", "password": "x", "rememberMe": ' + constant + "}"
    _refused(_raw(app.test_client(), "/api/v1/auth/sign-in/email", body))


def test_bulk_delete_with_an_empty_id_is_a_400(env: dict[str, Any]) -> None:
    response = env["user"].post("/api/v1/projects/bulk-delete", json={"ids": [""]}, headers=ORIGIN)
    _refused(response)


@pytest.mark.parametrize("path", ["/api/v1/auth/callback/{id}", "/api/v1/auth/oauth2/callback/{id}"])
@pytest.mark.parametrize("bad", ["a%0Db", "a%0Ab", "a%0D%0ALocation:%20https://evil.example"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_control_characters_in_a_path_id_are_a_400(app: Flask, path: str, bad: str, method: str) -> None:
    response = app.test_client().open(path.format(id=bad), method=method, data={"state": "s", "code": "c"})
    _refused(response)


def test_control_characters_in_a_project_id_are_a_400(env: dict[str, Any]) -> None:
    _refused(env["user"].get("/api/v1/projects/a%0Db"))


@pytest.mark.parametrize("value", [False, True, 0, 12, 1.5, None, [], {}])
@pytest.mark.parametrize(
    "route",
    ["/admin/set-role", "/admin/ban-user", "/admin/unban-user", "/admin/remove-user", "/admin/update-user",
     "/admin/set-user-password", "/admin/list-user-sessions", "/admin/revoke-user-sessions"],
)
def test_user_ids_must_be_strings(env: dict[str, Any], route: str, value: Any) -> None:
    body = {"userId": value, "role": "user", "data": {"name": "x"}, "newPassword": "new password 123"}
    _refused(post(env["root"], route, body))
