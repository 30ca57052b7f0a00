"""The official better-auth client with ``adminClient``, unchanged, drives the admin API.

``tests/js/admin-flows.mjs`` runs the journey over real HTTP; this side asserts on the shapes and
codes of better-auth 1.7.25 (reference §7), including a banned user's open session being refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.jsenv import run_node
from tests.live_server import LiveServerFactory, make_live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.node

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root password 123"


def test_admin_flows_with_the_js_client(make_live_server: LiveServerFactory) -> None:  # noqa: F811
    server = make_live_server(ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD)
    out: dict[str, Any] = run_node("admin-flows.mjs", server.url, ADMIN_EMAIL, ADMIN_PASSWORD, "manage-users")
    email = out["email"]

    assert out["adminSignIn"] == {"status": 200, "code": None}
    assert out["created"] == {"status": 200, "email": email, "role": "user"}
    assert out["userSignIn"] == {"status": 200, "code": None}
    assert out["userForbidden"] == {"status": 403, "code": "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS"}
    assert out["listed"] == {"status": 200, "emails": [email], "total": 1, "limit": 10}
    assert out["got"]["status"] == 200 and out["got"]["id"]
    assert out["updated"] == {"status": 200, "name": "Managed Too"}
    assert out["badRole"] == {"status": 400, "code": "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE"}
    assert out["sessions"] == {"status": 200, "count": 1}
    assert out["permission"] == {"error": None, "success": True}
    assert out["userPermission"] == {"error": None, "success": False}

    assert out["banned"] == {"status": 200, "banned": True, "reason": "testing"}
    assert out["bannedSession"] is None  # the open session died with the ban
    assert out["bannedSignIn"] == {"status": 403, "code": "BANNED_USER"}
    assert out["unbanned"] == {"status": 200, "banned": False}
    assert out["backSignIn"] == {"status": 200, "code": None}

    assert out["impersonated"] == {"status": 200, "email": email, "impersonatedBy": out["adminId"]}
    assert out["asUser"] == {"email": email, "impersonatedBy": out["adminId"]}
    assert out["stopped"] == {"status": 200, "email": ADMIN_EMAIL}
    assert out["adminAfter"] == {"email": ADMIN_EMAIL, "sameToken": True}

    assert out["revoked"] == {"success": True}
    assert out["afterRevoke"] is None
    assert out["password"] == {"status": True}
    assert out["newPassword"] == {"status": 200, "code": None}
    assert out["promoted"] == {"status": 200, "role": "admin"}
    assert out["removed"] == {"success": True}
    assert out["removedAgain"] == {"status": 404, "code": "USER_NOT_FOUND"}
