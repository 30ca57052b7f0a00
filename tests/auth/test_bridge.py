"""The bridge resolves the request's Identity; the guards decide; nothing leaks between requests."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from flask import Flask, jsonify
from flask_login import current_user

from app.core.identity import current
from app.modules import require_auth, require_permission, require_role
from app.modules.auth.bridge import is_skipped, normalize_path
from tests.auth.helpers import bearer, sign_up


def _add_probe_routes(app: Flask) -> None:
    @app.get("/probe/state")
    def state() -> Any:
        return jsonify(
            user=current().user.id if current().user else None,
            session=current().session["id"] if current().session else None,
            permissions=sorted(current().permissions),
            organization=current().organization_id,
            login=current_user.get_id() if current_user.is_authenticated else None,
        )

    @app.get("/probe/admin")
    @require_role("admin")
    def admin_only() -> Any:
        return {"ok": True}

    @app.get("/probe/perm")
    @require_permission({"project": ["create"]})
    def perm_only() -> Any:
        return {"ok": True}

    @app.get("/probe/authed")
    @require_auth
    def authed() -> Any:
        return {"ok": True}


@pytest.fixture
def probe_app(make_app: Any) -> Flask:
    app: Flask = make_app()
    _add_probe_routes(app)
    return app


def test_me_requires_auth_and_answers_with_cookie_or_bearer(client: Any, app: Flask) -> None:
    anonymous = app.test_client().get("/api/v1/me")
    assert anonymous.status_code == 401 and anonymous.json == {"code": "UNAUTHORIZED", "message": "Unauthorized"}
    token = sign_up(client, "a@example.com")["token"]
    assert client.get("/api/v1/me").json["user"]["email"] == "a@example.com"
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).json["user"]["email"] == "a@example.com"


def test_state_is_fresh_for_every_request(probe_app: Flask) -> None:
    client = probe_app.test_client()
    token = sign_up(client, "a@example.com")["token"]
    signed_in = client.get("/probe/state", headers=bearer(token)).json
    assert signed_in["user"] and signed_in["login"] == signed_in["user"]
    anonymous = probe_app.test_client().get("/probe/state").json
    assert anonymous == {"user": None, "session": None, "permissions": [], "organization": None, "login": None}


def test_no_leak_between_concurrent_requests(probe_app: Flask) -> None:
    tokens = {}
    for name in ("a", "b", "c"):
        tokens[name] = sign_up(probe_app.test_client(), f"{name}@example.com")["token"]
    expected = {
        name: probe_app.test_client().get("/probe/state", headers=bearer(t)).json["user"] for name, t in tokens.items()
    }
    errors: list[str] = []

    def worker(name: str | None) -> None:
        client = probe_app.test_client()
        for _ in range(25):
            headers = bearer(tokens[name]) if name else {}
            seen = client.get("/probe/state", headers=headers).json["user"]
            if seen != (expected[name] if name else None):
                errors.append(f"{name} saw {seen}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b", "c", None, "a", None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_guards(probe_app: Flask) -> None:
    client = probe_app.test_client()
    assert client.get("/probe/authed").status_code == 401
    assert client.get("/probe/admin").status_code == 401
    sign_up(client, "a@example.com")
    assert client.get("/probe/authed").json == {"ok": True}
    forbidden = client.get("/probe/admin")
    assert forbidden.status_code == 403 and forbidden.json["code"] == "FORBIDDEN"
    assert client.get("/probe/perm").status_code == 403  # no permissions are granted by a bare session


def test_admin_role_passes_require_role(make_app: Any) -> None:
    app: Flask = make_app(ADMIN__EMAIL="root@example.com", ADMIN__PASSWORD="root password 1")
    _add_probe_routes(app)
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/sign-in/email", json={"email": "root@example.com", "password": "root password 1"}
    )
    assert response.status_code == 200
    assert client.get("/probe/admin").json == {"ok": True}


def test_resolution_failure_goes_on_anonymous(
    probe_app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = sign_up(probe_app.test_client(), "a@example.com")["token"]

    def broken(_token: str) -> None:
        raise RuntimeError("database fell over")

    monkeypatch.setattr("app.modules.auth.identity.resolve_token", broken)
    with caplog.at_level(logging.ERROR):
        response = probe_app.test_client().get("/probe/state", headers=bearer(token))
    assert response.status_code == 200 and response.json["user"] is None
    assert "session resolution failed" in caplog.text
    assert probe_app.test_client().get("/probe/authed", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        ("/api/v1/healthz/", "/api/v1/healthz"),
        ("//api//v1/healthz", "/api/v1/healthz"),
        ("/", "/"),
        ("/api/v1/me?x=1", "/api/v1/me"),
    ],
)
def test_normalize_path(path: str, normalized: str) -> None:
    assert normalize_path(path) == normalized


def test_skipped_paths() -> None:
    assert is_skipped("//api/v1/readyz/") and is_skipped("/metrics") and is_skipped("/api/v1/auth/get-session")
    assert not is_skipped("/api/v1/me") and not is_skipped("/api/v1/authx") and not is_skipped("/api/v1/healthz2")


def test_bridge_registered_once(app: Flask) -> None:
    from app.modules.auth.bridge import bridge, init_bridge

    assert sum(f is bridge for f in app.before_request_funcs[None]) == 1
    with pytest.raises(RuntimeError):
        init_bridge(app)


def test_no_leak_when_requests_share_an_app_context(probe_app: Flask) -> None:
    """Scripts and tests may push one app context around several requests: identity must still reset."""
    token = sign_up(probe_app.test_client(), "a@example.com")["token"]
    with probe_app.app_context():
        client = probe_app.test_client()
        assert client.get("/probe/authed", headers=bearer(token)).status_code == 200
        assert client.get("/probe/authed").status_code == 401
        assert client.get("/api/v1/me").status_code == 401
