"""The api-key routes (``@better-auth/api-key`` 1.7.5, reference §11): shapes, ownership, validation."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.modules.auth.api_key.models import ApiKey
from tests.auth.helpers import post
from tests.auth.test_api_key_support import API, create_key, key_headers, signed_in_client

ROW_FIELDS = {
    "id", "configId", "name", "start", "referenceId", "prefix", "refillInterval", "refillAmount", "lastRefillAt",
    "enabled", "rateLimitEnabled", "rateLimitTimeWindow", "rateLimitMax", "requestCount", "remaining",
    "lastRequest", "expiresAt", "createdAt", "updatedAt", "permissions", "metadata",
}


def test_create_shows_the_key_once_and_stores_only_better_auths_hash(make_app: Any) -> None:
    app = make_app(AUTH__API_KEY__ENABLE_METADATA="true")
    client, user = signed_in_client(app)
    created = create_key(client, name="ci", prefix="ba_", metadata={"env": "ci"}, expiresIn=2 * 86400)

    key = created["key"]
    assert re.fullmatch(r"ba_[A-Za-z]{64}", key)
    assert set(created) == ROW_FIELDS | {"key"}
    assert (created["name"], created["prefix"], created["start"]) == ("ci", "ba_", key[:6])
    assert (created["configId"], created["referenceId"], created["enabled"]) == ("default", user["id"], True)
    # better-auth's per-key defaults
    limits = (created["rateLimitEnabled"], created["rateLimitTimeWindow"], created["rateLimitMax"])
    assert limits == (True, 86400000, 10)
    assert (created["requestCount"], created["remaining"], created["permissions"]) == (0, None, None)
    assert created["metadata"] == {"env": "ci"}
    assert created["expiresAt"] is not None

    with app.app_context():
        row = db.session.get(ApiKey, created["id"])
        expected = base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).rstrip(b"=").decode()
        assert row.key == expected
        assert key not in (row.key, row.start, row.meta, row.name)

    listed = client.get(f"{API}/api-key/list").json
    assert listed["total"] == 1
    assert "key" not in listed["apiKeys"][0]
    assert set(listed["apiKeys"][0]) == ROW_FIELDS
    fetched = client.get(f"{API}/api-key/get", query_string={"id": created["id"]})
    assert fetched.status_code == 200
    assert "key" not in fetched.json
    assert fetched.json["metadata"] == {"env": "ci"}


def test_another_users_key_is_not_found_for_every_action(make_app: Any) -> None:
    app = make_app()
    owner, _ = signed_in_client(app)
    created = create_key(owner, name="mine")
    other, _ = signed_in_client(app, "other@example.com")

    assert other.get(f"{API}/api-key/get", query_string={"id": created["id"]}).json["code"] == "KEY_NOT_FOUND"
    for path, body in (("/api-key/update", {"keyId": created["id"], "name": "x"}),
                       ("/api-key/delete", {"keyId": created["id"]})):
        response = post(other, path, body)
        assert (response.status_code, response.json["code"]) == (404, "KEY_NOT_FOUND")
    assert other.get(f"{API}/api-key/list").json == {"apiKeys": [], "total": 0}
    assert owner.get(f"{API}/api-key/get", query_string={"id": created["id"]}).status_code == 200


def test_routes_need_a_session(make_app: Any) -> None:
    client = make_app().test_client()
    response = post(client, "/api-key/create", {"name": "x"})
    assert (response.status_code, response.json["code"]) == (401, "UNAUTHORIZED_SESSION")
    assert client.get(f"{API}/api-key/list").status_code == 401


def test_a_key_cannot_manage_keys(make_app: Any) -> None:
    """A leaked key must not mint a wider key or list its siblings."""
    app = make_app()
    owner, _ = signed_in_client(app)
    key = create_key(owner, name="k")["key"]
    anonymous = app.test_client()
    response = anonymous.post(f"{API}/api-key/create", json={"name": "more"}, headers=key_headers(key))
    assert response.status_code == 401
    assert anonymous.get(f"{API}/api-key/list", headers=key_headers(key)).status_code == 401


def test_server_only_properties_are_refused_over_http(make_app: Any) -> None:
    app = make_app()
    client, user = signed_in_client(app)
    for field, value in (("remaining", 5), ("refillAmount", 1), ("refillInterval", 1000), ("rateLimitMax", 1),
                         ("rateLimitTimeWindow", 1), ("rateLimitEnabled", False), ("permissions", {"a": ["b"]})):
        response = post(client, "/api-key/create", {"name": "x", field: value})
        assert (response.status_code, response.json["code"]) == (400, "SERVER_ONLY_PROPERTY"), field
    assert post(client, "/api-key/create", {"remaining": None}).status_code == 200  # null is the default
    response = post(client, "/api-key/create", {"userId": user["id"]})
    assert (response.status_code, response.json["code"]) == (401, "UNAUTHORIZED_SESSION")
    key_id = create_key(client)["id"]
    response = post(client, "/api-key/update", {"keyId": key_id, "remaining": 100})
    assert (response.status_code, response.json["code"]) == (400, "SERVER_ONLY_PROPERTY")
    response = post(client, "/api-key/update", {"keyId": key_id, "permissions": {"project": ["delete"]}})
    assert (response.status_code, response.json["code"]) == (400, "SERVER_ONLY_PROPERTY")


def test_create_validation_codes(make_app: Any) -> None:
    app = make_app()
    client, _ = signed_in_client(app)
    cases = [
        ({"metadata": {"a": 1}}, "METADATA_DISABLED"),
        ({"expiresIn": 3600}, "EXPIRES_IN_IS_TOO_SMALL"),
        ({"expiresIn": 400 * 86400}, "EXPIRES_IN_IS_TOO_LARGE"),
        ({"prefix": "p" * 33}, "INVALID_PREFIX_LENGTH"),
        ({"name": "n" * 33}, "INVALID_NAME_LENGTH"),
        ({"prefix": "bad prefix!"}, "VALIDATION_ERROR"),
    ]
    for body, code in cases:
        response = post(client, "/api-key/create", body)
        assert (response.status_code, response.json["code"]) == (400, code), body
    with app.app_context():
        assert db.session.scalar(select(ApiKey.id)) is None


def test_update_and_delete(make_app: Any) -> None:
    app = make_app()
    client, _ = signed_in_client(app)
    created = create_key(client, name="old")
    response = post(client, "/api-key/update", {"keyId": created["id"], "name": "new", "enabled": False})
    assert response.status_code == 200
    assert (response.json["name"], response.json["enabled"]) == ("new", False)
    assert "key" not in response.json
    response = post(client, "/api-key/update", {"keyId": created["id"]})
    assert (response.status_code, response.json["code"]) == (400, "NO_VALUES_TO_UPDATE")
    response = post(client, "/api-key/update", {"keyId": created["id"], "expiresIn": 10 * 86400})
    assert response.json["expiresAt"] is not None
    assert post(client, "/api-key/delete", {"keyId": created["id"]}).json == {"success": True}
    assert client.get(f"{API}/api-key/get", query_string={"id": created["id"]}).status_code == 404
    assert post(client, "/api-key/delete", {"keyId": created["id"]}).status_code == 404


def test_list_paginates_and_sorts(make_app: Any) -> None:
    app = make_app()
    client, _ = signed_in_client(app)
    for name in ("b", "c", "a"):
        create_key(client, name=name)
    body = client.get(f"{API}/api-key/list", query_string={"sortBy": "name", "limit": 2, "offset": 1}).json
    assert ([k["name"] for k in body["apiKeys"]], body["total"], body["limit"], body["offset"]) == (["b", "c"], 3, 2, 1)
    body = client.get(f"{API}/api-key/list", query_string={"sortBy": "name", "sortDirection": "desc"}).json
    assert [k["name"] for k in body["apiKeys"]] == ["c", "b", "a"]
    response = client.get(f"{API}/api-key/list", query_string={"sortBy": "key"})
    assert (response.status_code, response.json["code"]) == (400, "VALIDATION_ERROR")
