"""Which credential wins (better-auth's order): explicit credentials (``x-api-key``, a bearer JWT,
a bearer session token) over the ambient cookie, and an explicit credential that fails fails the
request instead of falling back to the cookie."""

from __future__ import annotations

from typing import Any

from tests.auth.helpers import bearer, sign_up
from tests.auth.test_api_key_support import API, create_key, key_headers


def _user(app: Any, email: str) -> tuple[Any, dict[str, Any], str]:
    client = app.test_client()
    body = sign_up(client, email)
    return client, body["user"], body["token"]


def test_a_bearer_session_token_wins_over_the_cookie(app: Any) -> None:
    client_a, _, _ = _user(app, "a@example.com")
    _, user_b, token_b = _user(app, "b@example.com")
    assert client_a.get("/api/v1/me").json["user"]["id"] != user_b["id"]
    response = client_a.get("/api/v1/me", headers=bearer(token_b))
    assert (response.status_code, response.json["user"]["id"]) == (200, user_b["id"])
    session = client_a.get(f"{API}/get-session", headers=bearer(token_b)).json
    assert session["user"]["id"] == user_b["id"]


def test_a_bearer_that_fails_is_not_rescued_by_the_cookie(app: Any) -> None:
    client_a, _, _ = _user(app, "a@example.com")
    response = client_a.get("/api/v1/me", headers=bearer("not-a-session-token"))
    assert (response.status_code, response.json["code"]) == (401, "UNAUTHORIZED")
    # A JWT-shaped bearer that does not verify: the same.
    response = client_a.get("/api/v1/me", headers=bearer("e30.e30.c2ln"))
    assert response.status_code == 401
    assert client_a.get("/api/v1/me").status_code == 200  # the cookie alone still works


def test_an_api_key_wins_over_the_cookie_and_an_unknown_key_fails(app: Any) -> None:
    client_a, user_a, _ = _user(app, "a@example.com")
    client_b, user_b, _ = _user(app, "b@example.com")
    key_b = create_key(client_b)["key"]
    response = client_a.get("/api/v1/me", headers=key_headers(key_b))
    assert (response.status_code, response.json["user"]["id"]) == (200, user_b["id"])
    unknown = key_b[:-4] + ("aaaa" if not key_b.endswith("aaaa") else "bbbb")
    response = client_a.get("/api/v1/me", headers=key_headers(unknown))
    assert (response.status_code, response.json["code"]) == (401, "INVALID_API_KEY")
    assert client_a.get("/api/v1/me").json["user"]["id"] == user_a["id"]


def test_a_bearer_jwt_wins_over_the_cookie(app: Any) -> None:
    client_a, user_a, _ = _user(app, "a@example.com")
    client_b, user_b, _ = _user(app, "b@example.com")
    jwt_b = client_b.get(f"{API}/token").json["token"]
    response = client_a.get("/api/v1/me", headers=bearer(jwt_b))
    assert (response.status_code, response.json["user"]["id"]) == (200, user_b["id"])
    assert user_a["id"] != user_b["id"]
