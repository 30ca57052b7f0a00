"""One typed identity per request: the bridge is its only writer, it is released at teardown,
credential precedence is one list, and auth's state is one object."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g

from app.core.identity import ANONYMOUS, CREDENTIAL_PRECEDENCE, Identity, bind, current, release
from app.modules.auth.state import AuthState
from tests.auth.helpers import bearer, sign_up
from tests.auth.test_api_key_support import API, create_key, key_headers

APP = Path(__file__).resolve().parents[2] / "app"
#: The loose ``g`` attributes identity used to be; no code may read or write them any more.
LOOSE = re.compile(
    r"\bg\.(?:get\(\"|)(user|session|auth_session|auth_source|auth_error|auth_resolved|auth_unavailable|"
    r"organization_id|api_key|api_key_organization_id|tenant|tenant_resolved|permissions)\b"
)


def test_identity_is_frozen_and_anonymous_by_default() -> None:
    identity = Identity()
    assert identity == ANONYMOUS and not identity.authenticated and identity.organization() is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.organization_id = "x"  # type: ignore[misc]


def test_precedence_is_one_explicit_list_with_the_cookie_last() -> None:
    assert CREDENTIAL_PRECEDENCE == ("api-key", "jwt", "bearer", "cookie")


def test_plugins_register_resolvers_by_kind_not_by_order(app: Flask) -> None:
    state = app.extensions["auth"]
    assert isinstance(state, AuthState)
    assert set(state.credential_resolvers) == {"api-key", "jwt"}
    assert set(state.credential_resolvers) <= set(CREDENTIAL_PRECEDENCE)
    assert state.bridge is not None and state.key_permission_check and state.member_permission_check
    # the registrations that were string keys are attributes now
    registrations = ("bridge", "hasher", "mail_executor", "credential_resolvers", "context_hooks", "sign_in_hooks",
                     "get_session_hooks", "session_columns", "session_statement", "key_permission_check",
                     "member_permission_check", "check_redirect", "form_csrf_paths")
    assert not [name for name in registrations if f"auth.{name}" in app.extensions]


def test_an_api_key_wins_over_a_bearer_jwt_and_the_cookie(app: Flask) -> None:
    a, b, c = app.test_client(), app.test_client(), app.test_client()
    sign_up(a, "a@example.com")
    user_b = sign_up(b, "b@example.com")["user"]
    user_c = sign_up(c, "c@example.com")["user"]
    key_b = create_key(b)["key"]
    jwt_c = c.get(f"{API}/token").json["token"]
    both = {**key_headers(key_b), **bearer(jwt_c)}
    assert a.get("/api/v1/me", headers=both).json["user"]["id"] == user_b["id"]
    assert a.get("/api/v1/me", headers=bearer(jwt_c)).json["user"]["id"] == user_c["id"]


def test_the_request_identity_is_bound_then_released_at_teardown(make_app: Any) -> None:
    app = make_app()
    seen: dict[str, Any] = {}

    @app.get("/probe/identity")
    def probe() -> Any:
        seen["identity"] = current()
        return {"ok": True}

    client = app.test_client()
    user = sign_up(client, "a@example.com")["user"]

    with client:
        assert client.get("/probe/identity").status_code == 200
        identity = seen["identity"]
        assert isinstance(identity, Identity)
        assert identity.user is not None and identity.user.id == user["id"]
        assert identity.credential == "cookie" and identity.resolved is not None
        assert current() is ANONYMOUS  # released when the request ended, not at the next one
        assert "identity" not in g


def test_bind_and_release_outside_the_bridge_are_plain(app: Flask) -> None:
    with app.test_request_context("/"):
        assert current() is ANONYMOUS
        identity = bind(Identity(organization_id="org"))
        assert current() is identity
        release()
        assert current() is ANONYMOUS
    assert current() is ANONYMOUS  # outside any context


def test_no_code_uses_the_loose_g_attributes() -> None:
    found = [f"{path.relative_to(APP)}:{n}" for path in APP.rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1) if LOOSE.search(line)]
    assert found == []


def test_only_the_bridge_binds_identity() -> None:
    writers = sorted(str(path.relative_to(APP)) for path in APP.rglob("*.py")
                     if re.search(r"(?<![\w.])bind\(", path.read_text()) and path.name != "identity.py")
    assert writers == []
    assert "bind(" in (APP / "modules" / "auth" / "identity.py").read_text()


def test_modules_add_context_through_the_declared_hook(make_app: Any) -> None:
    from app.modules import AppModule, registry

    app = make_app(MODULES__TENANT="true")
    tenant = registry(app).get("tenant")
    assert tenant is not None
    assert type(tenant).contribute_identity is not AppModule.contribute_identity
    # teardown: one function releases identity (the bridge's), one calls every release_request
    assert len(app.teardown_request_funcs.get(None, [])) >= 2


def test_the_tenant_module_refuses_through_the_guards_only(make_app: Any) -> None:
    """A foreign tenant header is the identity's ``refusal``: a guarded route answers 403
    ``TENANT_FORBIDDEN``; an unguarded one runs with no tenant (nothing tenant-scoped visible)."""
    from tests.auth.helpers import ORIGIN, post

    app = make_app(MODULES__TENANT="true", MODULES__EXAMPLE="true")
    seen: dict[str, Any] = {}

    @app.get("/probe/tenant")
    def probe() -> Any:
        seen["identity"] = current()
        return {"ok": True}

    alice, bob = app.test_client(), app.test_client()
    sign_up(alice, "alice@example.com")
    sign_up(bob, "bob@example.com")
    org_a = post(alice, "/organization/create", {"name": "A", "slug": "a"}).json["id"]
    org_b = post(bob, "/organization/create", {"name": "B", "slug": "b"}).json["id"]
    post(alice, "/organization/set-active", {"organizationId": None})
    spoofed = {**ORIGIN, "X-Tenant-ID": org_b}
    assert alice.get("/probe/tenant", headers=spoofed).status_code == 200
    identity = seen["identity"]
    assert identity.tenant is None and identity.refusal is not None
    response = alice.get("/api/v1/projects", headers=spoofed)
    assert (response.status_code, response.json["code"]) == (403, "TENANT_FORBIDDEN")
    assert alice.get("/probe/tenant", headers={**ORIGIN, "X-Tenant-ID": org_a}).status_code == 200
    assert seen["identity"].tenant.id == org_a and seen["identity"].refusal is None
