"""The module system: toggles, stand-ins for disabled modules, on_ready once, on_close, readiness.

Tested with dummy modules of this file (and auth, always present), so that it holds whatever
modules a project keeps."""

from __future__ import annotations

import ast
import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

import app.modules as modules
from app import ConfigError, create_app
from app.core.errors import ApiError
from app.core.identity import Identity, bind, current
from app.modules import (
    AppModule,
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


class DummyModule(AppModule):
    """A module of the test suite: the module system is tested with it, not with a real module."""

    def __init__(self, name: str, requires: tuple[str, ...] = ()) -> None:
        self.name = name
        self.requires = requires
        self.events: list[str] = []

    def init_app(self, app: Flask) -> None:
        self.events.append("init_app")

    def on_ready(self, app: Flask) -> None:
        self.events.append("on_ready")

    def on_close(self, app: Flask) -> bool:
        self.events.append("on_close")
        return True


DummyFactory = Callable[..., DummyModule]


@pytest.fixture
def dummy(monkeypatch: pytest.MonkeyPatch) -> DummyFactory:
    """``dummy("first")`` switches on a dummy module, after the configured ones, for the next app."""
    added: dict[str, DummyModule] = {}
    load, enabled = modules._load, modules.enabled_names
    monkeypatch.setattr(modules, "_load", lambda name: added[name] if name in added else load(name))
    monkeypatch.setattr(modules, "enabled_names", lambda app: [*enabled(app), *added])

    def add(name: str, requires: tuple[str, ...] = ()) -> DummyModule:
        added[name] = DummyModule(name, requires)
        return added[name]

    return add


def test_modules_follow_the_fixed_order(make_app: AppFactory, dummy: DummyFactory) -> None:
    first, second = dummy("first"), dummy("second")
    app = make_app()
    assert [m.name for m in registry(app).modules] == ["auth", "first", "second"]
    assert first.events == second.events == ["init_app", "on_ready"]


def test_a_module_s_requirements_are_checked_at_start(make_app: AppFactory, dummy: DummyFactory) -> None:
    dummy("needy", requires=("auth", "elsewhere"))
    with pytest.raises(ConfigError, match=r"^MODULES__NEEDY=true needs MODULES__ELSEWHERE=true$"):
        make_app()


def test_failing_on_ready_keeps_serving_and_readyz_names_it(
    make_app: AppFactory, dummy: DummyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(app: Flask) -> None:
        raise RuntimeError("bootstrap exploded")

    monkeypatch.setattr(dummy("fragile"), "on_ready", broken)
    app = make_app()
    client = app.test_client()
    assert client.get("/api/v1/healthz").status_code == 200
    response = client.get("/api/v1/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "KO"
    assert body["components"]["module:fragile"]["status"] == "KO"
    assert "bootstrap exploded" in body["components"]["module:fragile"]["detail"]
    assert body["components"]["module:auth"]["status"] == "OK"


def test_on_ready_runs_exactly_once(make_app: AppFactory, dummy: DummyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Flask] = []
    lock = threading.Lock()

    def counting(app: Flask) -> None:
        with lock:
            calls.append(app)

    monkeypatch.setattr(dummy("counted"), "on_ready", counting)
    app = make_app()
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


def test_on_ready_waits_for_the_database(dummy: DummyFactory) -> None:
    waiting = dummy("waiting")
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"})
    try:
        assert ensure_ready(app) is False
        assert waiting.events == ["init_app"]
        assert registry(app).state["waiting"] == "pending"
    finally:
        close_modules(app)


def test_close_modules_runs_on_close_once_in_reverse_order(
    make_app: AppFactory, dummy: DummyFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[str] = []
    first, idle = dummy("first"), dummy("idle")
    monkeypatch.setattr(first, "on_close", lambda app: closed.append("first") or True)
    # idle has nothing to close (None): its line is DEBUG, the others' INFO.
    monkeypatch.setattr(idle, "on_close", lambda app: closed.append("idle") or None)
    monkeypatch.setattr(_module("auth"), "on_close", lambda app: closed.append("auth") or True)
    app = make_app()
    with caplog.at_level(logging.DEBUG, logger="app.modules"):
        close_modules(app)
        close_modules(app)
    assert closed == ["idle", "first", "auth"]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.getMessage().endswith(" closed")]
    assert lines == [
        ("DEBUG", "module idle closed"),
        ("INFO", "module first closed"),
        ("INFO", "module auth closed"),
    ]


def test_failing_on_close_does_not_stop_the_others(
    make_app: AppFactory, dummy: DummyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    def broken(app: Flask) -> None:
        raise RuntimeError("cannot drain")

    monkeypatch.setattr(dummy("stuck"), "on_close", broken)
    monkeypatch.setattr(_module("auth"), "on_close", lambda app: closed.append("auth"))
    app = make_app()
    close_modules(app)
    assert closed == ["auth"]


def _module(name: str) -> Any:
    return importlib.import_module(f"app.modules.{name}").module


def test_auth_says_it_closed_something_only_when_mail_threads_ran(make_app: AppFactory) -> None:
    from app.modules.auth.revocation import stop_listener

    idle, busy = make_app(), make_app()
    for app in (idle, busy):  # on PostgreSQL a LISTEN thread runs from the start: closing it counts
        stop_listener(app)
    assert _module("auth").on_close(idle) is False  # no mail was sent: nothing to close, DEBUG
    busy.extensions["auth"].mail_executor.submit(lambda: None).result(timeout=10)
    assert _module("auth").on_close(busy) is True


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_modules_import_only_auth_and_what_they_require() -> None:
    """Who may import whom: a module imports auth (the identity) and the modules it ``requires``,
    never the application (``app.api``, ``app.web``, ``app/access_control.py``) nor another module."""
    root = Path(modules.__file__).parent
    names = sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())
    for name in names:
        allowed = {name, "auth", *_module(name).requires}
        for path in (root / name).rglob("*.py"):
            for imported in _imports(path):
                parts = imported.split(".")
                assert parts[:2] != ["app", "api"] and parts[:2] != ["app", "web"], f"{path}: {imported}"
                assert imported != "app.access_control", f"{path}: {imported}"
                if parts[:2] == ["app", "modules"] and len(parts) > 2 and parts[2] in names:
                    assert parts[2] in allowed, f"{path} imports module {parts[2]!r}, not in its requires"
