"""get-session's remembered body (``app/modules/auth/session_answer.py``) never answers for what changed.

Two apps on one database stand for two gunicorn workers: the second has the session's body in
memory, and still answers the renamed user, the revoked session and the slid expiry at once.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask

from app.modules.auth.crypto import hash_token
from tests.auth.helpers import post
from tests.auth.test_api_key_support import API, signed_in_client


def _get_session(app: Flask, cookie: str) -> Any:
    return app.test_client(use_cookies=False).get(f"{API}/get-session", headers={"Cookie": cookie})


def _remembered(app: Flask, token: str) -> bool:
    return hash_token(token) in app.extensions.get("auth.sessions.bodies", {})


def _signed_in(one: Flask, email: str) -> tuple[Any, str, str]:
    client, _ = signed_in_client(one, email)
    response = client.get(f"{API}/get-session")
    return client, response.request.headers["Cookie"], response.json["session"]["token"]


def test_the_remembered_body_is_the_one_jsonify_writes(make_app: Any) -> None:
    app = make_app()
    _, cookie, token = _signed_in(app, "same@example.com")
    first = _get_session(app, cookie)
    assert _remembered(app, token)
    second = _get_session(app, cookie)
    assert second.get_data() == first.get_data()
    assert second.mimetype == "application/json"
    assert second.json["session"]["token"] == token
    assert second.headers["set-auth-jwt"] == first.headers["set-auth-jwt"]


def test_a_renamed_user_or_a_revoked_session_is_answered_by_the_other_worker_at_once(make_app: Any) -> None:
    one, two = make_app(), make_app()
    client, cookie, token = _signed_in(one, "rename@example.com")
    for _ in range(2):
        assert _get_session(two, cookie).json["user"]["name"] != "Another Name"
    assert _remembered(two, token)
    assert post(client, "/update-user", {"name": "Another Name"}).status_code == 200
    assert _get_session(two, cookie).json["user"]["name"] == "Another Name"
    assert post(client, "/revoke-sessions").status_code == 200
    revoked = _get_session(two, cookie)
    assert (revoked.status_code, revoked.json) == (200, None)


def test_a_slid_expiry_is_answered_not_the_remembered_one(make_app: Any) -> None:
    app = make_app(AUTH__SESSION__UPDATE_AGE="1")
    _, cookie, _ = _signed_in(app, "slide@example.com")
    before = json.loads(_get_session(app, cookie).get_data())["session"]["expiresAt"]
    time.sleep(1.2)
    slid = _get_session(app, cookie).json["session"]["expiresAt"]
    assert slid > before
    assert _get_session(app, cookie).json["session"]["expiresAt"] == slid
