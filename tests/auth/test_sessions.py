"""get-session, list/revoke sessions, sliding expiry, bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import hash_token, sign_value
from app.modules.auth.models import Session, utcnow
from tests.auth.helpers import bearer, post, sign_in, sign_up
from tests.conftest import TEST_SECRET


def test_get_session_anonymous_is_null_and_not_cached(client: Any) -> None:
    response = client.get("/api/v1/auth/get-session")
    assert response.status_code == 200 and response.json is None
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"


def test_get_session_shape(client: Any) -> None:
    token = sign_up(client, "a@example.com", firstname="Ann")["token"]
    body = client.get("/api/v1/auth/get-session").json
    assert body["session"]["token"] == token
    assert set(body["session"]) == {
        "id",
        "token",
        "userId",
        "expiresAt",
        "createdAt",
        "updatedAt",
        "ipAddress",
        "userAgent",
        "impersonatedBy",
        "activeOrganizationId",
    }
    assert body["user"]["firstname"] == "Ann"


def test_bearer_signed_url_encoded_and_raw(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    signed = sign_value(token, TEST_SECRET)
    for value in (signed, quote(signed, safe=""), token):
        body = app.test_client().get("/api/v1/auth/get-session", headers=bearer(value)).json
        assert body is not None and body["session"]["token"] == token


def test_bearer_with_a_bad_signature_is_anonymous(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    forged = sign_value(token, "another-secret-another-secret-another-secret")
    assert app.test_client().get("/api/v1/auth/get-session", headers=bearer(forged)).json is None


def test_revoked_cookie_is_cleared_on_get_session(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    with app.app_context():
        db.session.execute(Session.__table__.delete().where(Session.token == hash_token(token)))
        db.session.commit()
    response = client.get("/api/v1/auth/get-session")
    assert response.json is None
    assert any(c.startswith("better-auth.session_token=;") for c in response.headers.getlist("Set-Cookie"))


def test_expired_session_is_refused(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    with app.app_context():
        row = db.session.scalar(select(Session).where(Session.token == hash_token(token)))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/auth/get-session").json is None


def _age_session(app: Flask, token: str, days: float) -> None:
    with app.app_context():
        row = db.session.scalar(select(Session).where(Session.token == hash_token(token)))
        row.expires_at = row.expires_at - timedelta(days=days)
        row.created_at = row.created_at - timedelta(days=days)
        db.session.commit()


def test_sliding_refresh_after_update_age(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    _age_session(app, token, 2)
    before = client.get("/api/v1/auth/get-session?disableRefresh=true")
    assert not before.headers.getlist("Set-Cookie")
    response = client.get("/api/v1/auth/get-session")
    assert response.headers.getlist("Set-Cookie"), "a refreshed session re-sets its cookie"
    assert response.json["session"]["expiresAt"] > before.json["session"]["expiresAt"]
    again = client.get("/api/v1/auth/get-session")
    assert not again.headers.getlist("Set-Cookie"), "at most one refresh per updateAge"


def test_dont_remember_sessions_never_slide(app: Flask, client: Any) -> None:
    sign_up(client, "a@example.com")
    token = sign_in(client, "a@example.com", rememberMe=False).json["token"]
    _age_session(app, token, 0.5)
    response = client.get("/api/v1/auth/get-session")
    assert response.json is not None and not response.headers.getlist("Set-Cookie")


def test_list_sessions_hides_other_tokens_and_handles_revoke(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    sign_up(laptop, "a@example.com")
    phone_token = sign_in(phone, "a@example.com").json["token"]
    laptop_token = sign_in(laptop, "a@example.com").json["token"]
    sessions = laptop.get("/api/v1/auth/list-sessions").json
    assert len(sessions) == 2
    mine = next(s for s in sessions if s["token"] == laptop_token)
    other = next(s for s in sessions if s is not mine)
    assert other["token"] != phone_token and other["token"] == other["id"]
    # The handle is no credential...
    assert app.test_client().get("/api/v1/auth/get-session", headers=bearer(other["token"])).json is None
    # ...but revoke-session accepts it, and the phone is signed out on its next request.
    assert post(laptop, "/revoke-session", {"token": other["token"]}).json == {"status": True}
    assert phone.get("/api/v1/auth/get-session").json is None
    assert laptop.get("/api/v1/auth/get-session").json is not None
    assert mine["id"] != other["id"]


def test_revoke_session_cannot_touch_another_users_session(app: Flask) -> None:
    alice, bob = app.test_client(), app.test_client()
    sign_up(alice, "alice@example.com")
    bob_token = sign_up(bob, "bob@example.com")["token"]
    bob_session = bob.get("/api/v1/auth/get-session").json["session"]
    for handle in (bob_session["id"], bob_token):
        assert post(alice, "/revoke-session", {"token": handle}).json == {"status": True}
    assert bob.get("/api/v1/auth/get-session").json is not None


def test_revoke_other_sessions_and_revoke_sessions(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    sign_up(one, "a@example.com")
    sign_in(two, "a@example.com")
    assert post(one, "/revoke-other-sessions").json == {"status": True}
    assert two.get("/api/v1/auth/get-session").json is None
    assert one.get("/api/v1/auth/get-session").json is not None
    assert post(one, "/revoke-sessions").json == {"status": True}
    assert one.get("/api/v1/auth/get-session").json is None


def test_list_sessions_needs_a_fresh_session(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    _age_session(app, token, 1.5)
    response = client.get("/api/v1/auth/list-sessions?x=1")
    assert response.status_code == 403 and response.json["code"] == "SESSION_NOT_FRESH"


def test_session_routes_need_a_session(client: Any) -> None:
    for path in ("/list-sessions",):
        assert client.get(f"/api/v1/auth{path}").status_code == 401
    for path in ("/revoke-sessions", "/revoke-other-sessions", "/update-user", "/change-password"):
        response = client.post(f"/api/v1/auth{path}", json={})
        assert response.status_code in (400, 401)
    response = client.post("/api/v1/auth/revoke-sessions", json={})
    assert response.status_code == 401 and response.json == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
