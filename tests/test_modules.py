"""The module system: toggles, stand-ins for disabled modules, on_ready once, on_close, readiness."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.core.errors import ApiError
from app.core.identity import Identity, bind, current
from app.modules import (
    audit_logger,
    close_modules,
    ensure_ready,
    registry,
    require_auth,
    require_permission,
    require_role,
)
from app.modules.guards import Permissions
from tests.conftest import BASE_OVERRIDES, AppFactory


def _add_guarded_routes(app: Flask) -> None:
    @app.get("/api/v1/test/authed")
    @require_auth
    def authed() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/v1/test/admin")
    @require_role("admin")
    def admin() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/v1/test/perm")
    @require_permission("project:create", "project:update")
    def perm() -> dict[str, bool]:
        return {"ok": True}


def test_auth_off_has_no_auth_routes(make_app: AppFactory) -> None:
    app = make_app(MODULES__AUTH="false")
    rules = [rule.rule for rule in app.url_map.iter_rules()]
    assert not [r for r in rules if r.startswith("/api/v1/auth")]
    assert "auth" not in [m.name for m in registry(app).modules]
    response = app.test_client().get("/api/v1/auth/get-session")
    assert response.status_code == 404
    assert response.get_json()["code"] == "NOT_FOUND"


def test_auth_on_has_auth_routes(make_app: AppFactory) -> None:
    app = make_app()
    assert [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/auth/")]


def test_guards_pass_through_when_auth_is_off(database_url: str) -> None:
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url, "MODULES__AUTH": "false"})
    _add_guarded_routes(app)
    client = app.test_client()
    try:
        for path in ("/api/v1/test/authed", "/api/v1/test/admin", "/api/v1/test/perm"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.get_json() == {"ok": True}
    finally:
        close_modules(app)


class _RecordingPolicy:
    """A policy that refuses like the auth module does, and records what the guards asked."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def authenticate(self) -> None:
        self.asked.append("authenticate")
        if current().user is None:
            raise ApiError(401, "UNAUTHORIZED", "Unauthorized")

    def check_roles(self, roles: Sequence[str]) -> None:
        self.authenticate()
        self.asked.append(tuple(roles))
        raise ApiError(403, "FORBIDDEN", "Missing role")

    def check_permissions(self, permissions: Permissions) -> None:
        self.asked.append({k: list(v) for k, v in permissions.items()})
        raise ApiError(403, "FORBIDDEN", "Missing permission")


def test_guards_ask_the_installed_policy(database_url: str) -> None:
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url, "MODULES__AUTH": "false"})
    policy = _RecordingPolicy()
    app.extensions["access_policy"] = policy
    _add_guarded_routes(app)

    @app.before_request
    def _identity() -> None:
        if "X-Test-User" in __import__("flask").request.headers:  # a stand-in bridge: auth is off here
            bind(Identity(user=SimpleNamespace(id="u1", roles=frozenset(), json={"id": "u1"})))

    client = app.test_client()
    try:
        assert client.get("/api/v1/test/authed").status_code == 401
        assert client.get("/api/v1/test/authed", headers={"X-Test-User": "1"}).status_code == 200
        response = client.get("/api/v1/test/admin", headers={"X-Test-User": "1"})
        assert response.status_code == 403
        assert response.get_json() == {"code": "FORBIDDEN", "message": "Missing role"}
        assert client.get("/api/v1/test/perm").status_code == 403
        assert ("admin",) in policy.asked
        assert {"project": ["create", "update"]} in policy.asked
    finally:
        close_modules(app)


def test_guard_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        require_role()
    with pytest.raises(TypeError):
        require_permission("no-colon")
    with pytest.raises(TypeError):
        require_permission({"project": []})


def test_audit_off_logger_accepts_and_drops(make_app: AppFactory) -> None:
    app = make_app(MODULES__AUDIT="false")
    assert "audit_logger" not in app.extensions
    with app.app_context():
        audit_logger.log(actor_id="u1", action="project.create", resource_type="project", resource_id="p1")
        audit_logger.log_async(actor_id=None, action="x", resource_type="y", details={"a": 1})
    assert "audit" not in [m.name for m in registry(app).modules]


def test_modules_follow_the_fixed_order(make_app: AppFactory) -> None:
    app = make_app(MODULES__TENANT="true", MODULES__AUDIT="true")
    assert [m.name for m in registry(app).modules] == ["auth", "tenant", "audit"]


def _module(name: str) -> Any:
    return importlib.import_module(f"app.modules.{name}").module


def test_failing_on_ready_keeps_serving_and_readyz_names_it(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(app: Flask) -> None:
        raise RuntimeError("bootstrap exploded")

    monkeypatch.setattr(_module("audit"), "on_ready", broken)
    app = make_app(MODULES__AUDIT="true")
    client = app.test_client()
    assert client.get("/api/v1/healthz").status_code == 200
    response = client.get("/api/v1/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "KO"
    assert body["components"]["module:audit"]["status"] == "KO"
    assert "bootstrap exploded" in body["components"]["module:audit"]["detail"]
    assert body["components"]["module:auth"]["status"] == "OK"


def test_on_ready_runs_exactly_once(make_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Flask] = []
    lock = threading.Lock()

    def counting(app: Flask) -> None:
        with lock:
            calls.append(app)

    monkeypatch.setattr(_module("audit"), "on_ready", counting)
    app = make_app(MODULES__AUDIT="true")
    threads = [threading.Thread(target=ensure_ready, args=(app,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/version")
    assert client.get("/api/v1/readyz").status_code == 200
    assert calls == [app]


def test_on_ready_waits_for_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Flask] = []
    monkeypatch.setattr(_module("audit"), "on_ready", calls.append)
    app = create_app(
        {**BASE_OVERRIDES, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x", "MODULES__AUDIT": "true"}
    )
    try:
        assert ensure_ready(app) is False
        assert calls == []
        assert registry(app).state["audit"] == "pending"
    finally:
        close_modules(app)


def test_close_modules_runs_on_close_once_in_reverse_order(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[str] = []
    for name in ("auth", "tenant", "audit"):
        # tenant has nothing to close (None): its line is DEBUG, the others' INFO.
        monkeypatch.setattr(
            _module(name), "on_close", lambda app, name=name: closed.append(name) or (name != "tenant" or None)
        )
    app = make_app(MODULES__TENANT="true", MODULES__AUDIT="true")
    with caplog.at_level(logging.DEBUG, logger="app.modules"):
        close_modules(app)
        close_modules(app)
    assert closed == ["audit", "tenant", "auth"]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.getMessage().endswith(" closed")]
    assert lines == [
        ("INFO", "module audit closed"),
        ("DEBUG", "module tenant closed"),
        ("INFO", "module auth closed"),
    ]


def test_failing_on_close_does_not_stop_the_others(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    def broken(app: Flask) -> None:
        raise RuntimeError("cannot drain")

    monkeypatch.setattr(_module("audit"), "on_close", broken)
    monkeypatch.setattr(_module("auth"), "on_close", lambda app: closed.append("auth"))
    app = make_app(MODULES__AUDIT="true")
    close_modules(app)
    assert closed == ["auth"]


def test_auth_says_it_closed_something_only_when_mail_threads_ran(make_app: AppFactory) -> None:
    idle, busy = make_app(), make_app()
    assert _module("auth").on_close(idle) is False  # no mail was sent: nothing to close, DEBUG
    busy.extensions["auth"].mail_executor.submit(lambda: None).result(timeout=10)
    assert _module("auth").on_close(busy) is True
