"""The official ``organizationClient`` (better-auth 1.7.25) drives the organization lifecycle.

Create, invite (mailed), accept, list members, change the role, has-permission true and false,
remove, leave, delete, with ``tests/js/organization-flows.mjs`` over real HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.jsenv import run_node
from tests.live_server import LiveServer, live_server, make_live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.node


def ok(observed: dict[str, Any]) -> Any:
    assert (observed["status"], observed["code"]) == (200, None), observed
    return observed["data"]


def fails(observed: dict[str, Any]) -> tuple[int, str]:
    return observed["status"], observed["code"]


def test_organization_lifecycle_with_the_js_client(live_server: LiveServer) -> None:  # noqa: F811
    out = run_node("organization-flows.mjs", live_server.url, str(live_server.outbox), "lifecycle")
    second = out["secondEmail"]

    assert out["verified"] == 200  # invitations need a verified address: the mailed link verified it
    assert ok(out["checkSlugFree"]) == {"status": True}
    org = ok(out["create"])
    assert (org["slug"], org["metadata"]) == (out["slug"], {"plan": "pro"})
    assert [m["role"] for m in org["members"]] == ["owner"]
    assert fails(out["checkSlugTaken"]) == (400, "ORGANIZATION_SLUG_ALREADY_TAKEN")
    assert out["ownerSession"] == org["id"]
    assert [o["id"] for o in ok(out["list"])] == [org["id"]]

    invitation = ok(out["invite"])
    assert (invitation["email"], invitation["status"], invitation["role"]) == (second, "pending", "member")
    assert out["mailHasId"] is True
    assert ok(out["getInvitation"])["organizationSlug"] == out["slug"]
    assert fails(out["strangerInvitation"]) == (403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
    accepted = ok(out["accept"])
    assert (accepted["invitation"]["status"], accepted["member"]["role"]) == ("accepted", "member")
    assert out["secondSession"] == org["id"]

    members = ok(out["members"])
    assert members["total"] == 2
    assert sorted(m["user"]["email"] for m in members["members"]) == sorted([out["ownerEmail"], second])
    full = ok(out["full"])
    assert (full["id"], len(full["members"]), full["invitations"]) == (org["id"], 2, [])  # members see none
    assert ok(out["activeMember"])["role"] == "member"

    assert ok(out["memberCanDelete"]) == {"error": None, "success": False}
    assert ok(out["memberCanRead"]) == {"error": None, "success": True}
    assert fails(out["memberUpdatesRole"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
    assert ok(out["updateRole"])["role"] == "admin"
    assert ok(out["activeRole"]) == {"role": "admin"}
    assert ok(out["adminCanDelete"])["success"] is True
    assert ok(out["adminCanDeleteOrg"])["success"] is False
    assert out["clientCheck"] is False  # the client's own check agrees with the server

    assert ok(out["remove"])["member"]["user"]["email"] == second
    assert fails(out["afterRemove"]) == (403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
    assert ok(out["leave"])["user"]["email"] == second
    assert fails(out["ownerLeave"]) == (400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
    assert out["membersAfterLeave"] == 1

    assert ok(out["setActiveNull"]) is None
    assert ok(out["setActive"])["id"] == org["id"]
    assert ok(out["delete"])["id"] == org["id"]
    assert ok(out["listAfterDelete"]) == []
    assert out["sessionAfterDelete"] is None
