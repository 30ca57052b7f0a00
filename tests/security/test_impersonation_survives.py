"""An impersonation session must die with its impersonator's rights (ban, deletion), whatever the route.

``service.ban`` ends the impersonations the banned admin runs, but the other routes that ban or
delete a user (``/admin/update-user`` with ``data.banned``, ``/delete-user``) only revoke the
user's *own* sessions: the impersonation session (``userId`` = the target, ``impersonatedBy`` = the
admin) survives and keeps acting as the target.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.helpers import ORIGIN, PASSWORD, post, sign_in, sign_up
from tests.conftest import AppFactory

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root password 123"


@pytest.fixture
def admin_app(make_app: AppFactory) -> Flask:
    return make_app(ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD, AUTH__DELETE_USER__ENABLED="true")


def _session(client: FlaskClient) -> Any:
    return client.get("/api/v1/auth/get-session").json


def _impersonating_second_admin(admin_app: Flask) -> tuple[FlaskClient, FlaskClient, str, str]:
    root = admin_app.test_client()
    assert sign_in(root, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    second_id = sign_up(admin_app.test_client(), "second@example.com")["user"]["id"]
    assert post(root, "/admin/set-role", {"userId": second_id, "role": "admin"}).status_code == 200
    second = admin_app.test_client()
    assert sign_in(second, "second@example.com").status_code == 200
    target_id = sign_up(admin_app.test_client(), "ada@example.com")["user"]["id"]
    assert post(second, "/admin/impersonate-user", {"userId": target_id}).status_code == 200
    assert _session(second)["user"]["email"] == "ada@example.com"
    return root, second, second_id, target_id


def test_ban_through_update_user_ends_the_impersonations_the_banned_admin_runs(admin_app: Flask) -> None:
    root, second, second_id, _ = _impersonating_second_admin(admin_app)
    response = post(root, "/admin/update-user", {"userId": second_id, "data": {"banned": True}})
    assert response.status_code == 200 and response.json["banned"] is True
    # The banned admin must not keep acting as ada for the rest of the impersonation hour.
    assert _session(second) is None


def test_deleting_an_admin_account_ends_the_impersonations_it_runs(admin_app: Flask) -> None:
    _, second, _, _ = _impersonating_second_admin(admin_app)
    # The admin's own session was kept aside in the admin_session cookie; use it to delete the account.
    cookie = second.get_cookie("better-auth.admin_session")
    assert cookie is not None
    kept = cookie.value
    from urllib.parse import unquote

    from app.modules.auth.crypto import unsign_value
    from tests.conftest import TEST_SECRET

    admin_token = unsign_value(unquote(kept), TEST_SECRET).rpartition(":")[0]
    deleted = admin_app.test_client().post(
        "/api/v1/auth/delete-user", json={"password": PASSWORD},
        headers={**ORIGIN, "Authorization": f"Bearer {admin_token}"},
    )
    assert deleted.status_code == 200, deleted.json
    # The impersonator no longer exists: the session it opened as ada must be gone too.
    assert _session(second) is None
