"""``AccessControl.extend``: how the application and the modules add permissions to auth's roles."""

from __future__ import annotations

import pytest

from app.modules.auth.access import AccessControl
from tests.conftest import AppFactory


def test_extend_adds_resources_and_grants_idempotently() -> None:
    ac = AccessControl({"member": ("create",)})
    ac.new_role("owner", {"member": ("create",)})
    ac.new_role("member", {"member": ()})
    for _ in range(2):
        ac.extend({"audit": ("read",)}, {"owner": {"audit": ("read",)}})
    assert ac.authorize(["owner"], {"audit": ["read"], "member": ["create"]})
    assert not ac.authorize(["member"], {"audit": ["read"]})
    assert ac.statements["audit"] == frozenset({"read"})


def test_extend_refuses_unknown_roles_and_actions() -> None:
    ac = AccessControl({"member": ("create",)})
    ac.new_role("owner", {"member": ("create",)})
    with pytest.raises(ValueError, match="unknown role 'ghost'"):
        ac.extend({}, {"ghost": {"member": ("create",)}})
    with pytest.raises(ValueError, match="unknown actions"):
        ac.extend({}, {"owner": {"member": ("delete",)}})


def test_the_application_extends_auth_s_organization_roles(make_app: AppFactory) -> None:
    from app.modules.auth.organization.roles import ROLE_NAMES, role_allows

    make_app()  # create_app imports app/access_control.py, which extends the roles

    assert set(ROLE_NAMES) >= {"owner", "admin", "member"}
    assert role_allows("member", {"project": ["read"]})  # app/access_control.py
    assert not role_allows("member", {"project": ["delete"]})
    assert role_allows("member", {"ac": ["read"]})  # better-auth's default, auth's own
