"""The organization plugin over HTTP (better-auth 1.7.25's shapes and codes, protocol §9)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.core.identity import current
from app.extensions import db
from app.modules.auth.identity import resolve_identity
from app.modules.auth.models import utcnow
from app.modules.auth.organization.models import Invitation, Member
from tests.auth.helpers import ORIGIN, post, read_outbox, sign_up, verify_email

SESSION_COOKIE = "better-auth.session_token"


def get(client: FlaskClient, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1/auth{path}", query_string=query, headers=ORIGIN)


def create_org(client: FlaskClient, slug: str, **extra: Any) -> dict[str, Any]:
    response = post(client, "/organization/create", {"name": slug.title(), "slug": slug, **extra})
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def session_of(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = get(client, "/get-session", disableCookieCache="true").json
    return body


def join(app: Flask, owner: FlaskClient, org_id: str, email: str, role: str = "member") -> FlaskClient:
    """A second user, invited by ``owner`` and accepted: returns their client."""
    client = app.test_client()
    sign_up(client, email)
    verify_email(app, email)
    invitation = post(owner, "/organization/invite-member", {"email": email, "role": role, "organizationId": org_id})
    assert invitation.status_code == 200, invitation.json
    accepted = post(client, "/organization/accept-invitation", {"invitationId": invitation.json["id"]})
    assert accepted.status_code == 200, accepted.json
    return client


def test_create_sets_owner_and_active_organization(client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    created = post(client, "/organization/create", {"name": "Acme", "slug": "acme", "metadata": {"plan": "pro"}})
    assert created.status_code == 200
    body = created.json
    assert (body["name"], body["slug"], body["metadata"], body["logo"]) == ("Acme", "acme", {"plan": "pro"}, None)
    assert [(m["role"], m["organizationId"]) for m in body["members"]] == [("owner", body["id"])]
    assert any(c.startswith(f"{SESSION_COOKIE}=") for c in created.headers.getlist("Set-Cookie"))
    assert session_of(client)["session"]["activeOrganizationId"] == body["id"]

    listed = get(client, "/organization/list").json
    assert [(o["id"], o["metadata"]) for o in listed] == [(body["id"], {"plan": "pro"})]  # an object, not a string

    taken = post(client, "/organization/create", {"name": "Other", "slug": "acme"})
    assert (taken.status_code, taken.json["code"]) == (400, "ORGANIZATION_ALREADY_EXISTS")
    check = post(client, "/organization/check-slug", {"slug": "acme"})
    assert (check.status_code, check.json["code"]) == (400, "ORGANIZATION_SLUG_ALREADY_TAKEN")
    assert post(client, "/organization/check-slug", {"slug": "free"}).json == {"status": True}


def test_organization_routes_need_a_session(client: FlaskClient) -> None:
    assert post(client, "/organization/create", {"name": "X", "slug": "x"}).status_code == 401
    assert get(client, "/organization/list").status_code == 401
    assert post(client, "/organization/has-permission", {"permissions": {"project": ["read"]}}).status_code == 401


def test_update_and_delete_need_the_role(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    member = join(app, client, org["id"], "member@example.com")

    denied = post(member, "/organization/update", {"data": {"name": "Hacked"}, "organizationId": org["id"]})
    assert (denied.status_code, denied.json["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION")
    denied = post(member, "/organization/delete", {"organizationId": org["id"]})
    assert (denied.status_code, denied.json["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION")

    stranger = app.test_client()
    sign_up(stranger, "stranger@example.com")
    outsider = post(stranger, "/organization/update", {"data": {"name": "X"}, "organizationId": org["id"]})
    assert (outsider.status_code, outsider.json["code"]) == (400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    full = get(stranger, "/organization/get-full-organization", organizationId=org["id"])
    assert (full.status_code, full.json["code"]) == (403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")

    updated = post(client, "/organization/update", {"data": {"name": "Acme 2", "metadata": {"a": 1}}})
    assert (updated.status_code, updated.json["name"], updated.json["metadata"]) == (200, "Acme 2", {"a": 1})

    deleted = post(client, "/organization/delete", {"organizationId": org["id"]})
    assert (deleted.status_code, deleted.json["id"]) == (200, org["id"])
    # every session that had it active (the member's too) now has none
    assert session_of(client)["session"]["activeOrganizationId"] is None
    assert session_of(member)["session"]["activeOrganizationId"] is None
    gone = get(client, "/organization/get-full-organization", organizationId=org["id"])
    assert (gone.status_code, gone.json["code"]) == (400, "ORGANIZATION_NOT_FOUND")


def test_invitation_is_mailed_and_only_the_invitee_may_accept(make_app: Any, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    app = make_app(MAIL__BACKEND="file", MAIL__FILE=str(outbox))
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")

    invited = post(owner, "/organization/invite-member", {"email": "Bob@Example.com", "role": "admin"})
    assert invited.status_code == 200
    invitation = invited.json
    assert (invitation["email"], invitation["role"], invitation["status"]) == ("bob@example.com", "admin", "pending")
    again = post(owner, "/organization/invite-member", {"email": "bob@example.com", "role": "admin"})
    assert (again.status_code, again.json["code"]) == (400, "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION")
    mails = read_outbox(str(outbox), "bob@example.com")
    assert len(mails) == 1 and invitation["id"] in mails[0]["url"] and "Acme" in mails[0]["subject"]

    eve = app.test_client()
    sign_up(eve, "eve@example.com")
    for path in ("/organization/accept-invitation", "/organization/reject-invitation"):
        stolen = post(eve, path, {"invitationId": invitation["id"]})
        assert (stolen.status_code, stolen.json["code"]) == (403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
    peek = get(eve, "/organization/get-invitation", id=invitation["id"])
    assert (peek.status_code, peek.json["code"]) == (403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")

    bob = app.test_client()
    sign_up(bob, "bob@example.com")
    unverified = get(bob, "/organization/get-invitation", id=invitation["id"])
    assert (unverified.status_code, unverified.json["code"]) == (403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION")
    verify_email(app, "bob@example.com")
    details = get(bob, "/organization/get-invitation", id=invitation["id"]).json
    assert (details["organizationName"], details["organizationSlug"], details["inviterEmail"]) == (
        "Acme", "acme", "owner@example.com")
    accepted = post(bob, "/organization/accept-invitation", {"invitationId": invitation["id"]})
    assert accepted.status_code == 200
    assert accepted.json["invitation"]["status"] == "accepted"
    assert (accepted.json["member"]["role"], accepted.json["member"]["organizationId"]) == ("admin", org["id"])
    assert session_of(bob)["session"]["activeOrganizationId"] == org["id"]
    twice = post(bob, "/organization/accept-invitation", {"invitationId": invitation["id"]})
    assert (twice.status_code, twice.json["code"]) == (400, "INVITATION_NOT_FOUND")


def test_expired_invitation_cannot_be_accepted(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    create_org(client, "acme")
    invitation = post(client, "/organization/invite-member", {"email": "bob@example.com", "role": "member"}).json
    with app.app_context():
        row = db.session.get(Invitation, invitation["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    bob = app.test_client()
    sign_up(bob, "bob@example.com")
    late = post(bob, "/organization/accept-invitation", {"invitationId": invitation["id"]})
    assert (late.status_code, late.json["code"]) == (400, "INVITATION_NOT_FOUND")
    with app.app_context():
        assert db.session.query(Member).filter_by(organization_id=invitation["organizationId"]).count() == 1


def test_default_expiry_is_48_hours_and_limit_applies(make_app: Any) -> None:
    app = make_app(AUTH__ORGANIZATION__INVITATION_LIMIT="2")
    client = app.test_client()
    sign_up(client, "owner@example.com")
    create_org(client, "acme")
    first = post(client, "/organization/invite-member", {"email": "a@example.com", "role": "member"}).json
    created = utcnow()
    expires = first["expiresAt"]
    from app.modules.auth.serializers import parse_iso

    delta = parse_iso(expires) - created  # type: ignore[operator]
    assert timedelta(hours=47, minutes=59) < delta <= timedelta(hours=48)
    assert post(client, "/organization/invite-member", {"email": "b@example.com", "role": "member"}).status_code == 200
    over = post(client, "/organization/invite-member", {"email": "c@example.com", "role": "member"})
    assert (over.status_code, over.json["code"]) == (403, "INVITATION_LIMIT_REACHED")


def test_only_an_owner_grants_owner(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    admin = join(app, client, org["id"], "admin@example.com", role="admin")
    member = join(app, client, org["id"], "member@example.com")
    members = {m["user"]["email"]: m for m in get(client, "/organization/list-members").json["members"]}

    invite_owner = post(admin, "/organization/invite-member", {"email": "x@example.com", "role": "owner"})
    assert (invite_owner.status_code, invite_owner.json["code"]) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
    promote = post(admin, "/organization/update-member-role",
                   {"memberId": members["member@example.com"]["id"], "role": "owner"})
    assert (promote.status_code, promote.json["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
    demote_owner = post(admin, "/organization/update-member-role",
                        {"memberId": members["owner@example.com"]["id"], "role": "member"})
    assert demote_owner.status_code == 403
    by_member = post(member, "/organization/update-member-role",
                     {"memberId": members["admin@example.com"]["id"], "role": "member"})
    assert by_member.status_code == 403
    unknown = post(client, "/organization/update-member-role",
                   {"memberId": members["member@example.com"]["id"], "role": "emperor"})
    assert (unknown.status_code, unknown.json["code"]) == (400, "ROLE_NOT_FOUND")

    ok = post(client, "/organization/update-member-role",
              {"memberId": members["member@example.com"]["id"], "role": ["admin", "member"]})
    assert (ok.status_code, ok.json["role"]) == (200, "admin,member")
    role = get(member, "/organization/get-active-member-role").json
    assert role == {"role": "admin,member"}


def test_the_only_owner_cannot_leave_or_be_removed(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    admin = join(app, client, org["id"], "admin@example.com", role="admin")
    owner_member = get(client, "/organization/get-active-member").json

    alone = post(client, "/organization/leave", {"organizationId": org["id"]})
    assert (alone.status_code, alone.json["code"]) == (400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
    removed = post(admin, "/organization/remove-member", {"memberIdOrEmail": owner_member["id"]})
    assert (removed.status_code, removed.json["code"]) == (400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
    demote = post(client, "/organization/update-member-role", {"memberId": owner_member["id"], "role": "admin"})
    assert (demote.status_code, demote.json["code"]) == (400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")

    admin_member = get(admin, "/organization/get-active-member").json
    assert post(client, "/organization/update-member-role",
                {"memberId": admin_member["id"], "role": "owner"}).status_code == 200
    left = post(client, "/organization/leave", {"organizationId": org["id"]})
    assert (left.status_code, left.json["user"]["email"]) == (200, "owner@example.com")
    assert session_of(client)["session"]["activeOrganizationId"] is None


def test_has_permission_follows_the_roles(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    member = join(app, client, org["id"], "member@example.com")

    def check(who: FlaskClient, permissions: dict[str, list[str]]) -> Any:
        return post(who, "/organization/has-permission", {"permissions": permissions, "organizationId": org["id"]})

    assert check(client, {"organization": ["delete"]}).json == {"error": None, "success": True}
    assert check(member, {"project": ["create", "read"]}).json == {"error": None, "success": True}
    assert check(member, {"organization": ["update"]}).json["success"] is False
    assert check(member, {"project": ["delete"]}).json["success"] is False
    assert check(member, {"invitation": ["create"]}).json["success"] is False
    assert check(member, {"nonsense": ["read"]}).json["success"] is False
    legacy = post(member, "/organization/has-permission", {"permission": {"project": ["read"]}})
    assert legacy.json == {"error": None, "success": True}

    stranger = app.test_client()
    sign_up(stranger, "stranger@example.com")
    outsider = check(stranger, {"project": ["read"]})
    assert (outsider.status_code, outsider.json["code"]) == (401, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")


def test_remove_member_and_list(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    org = create_org(client, "acme")
    member = join(app, client, org["id"], "member@example.com")
    listed = get(client, "/organization/list-members").json
    assert listed["total"] == 2
    assert sorted(m["user"]["email"] for m in listed["members"]) == ["member@example.com", "owner@example.com"]

    by_member = post(member, "/organization/remove-member", {"memberIdOrEmail": "owner@example.com"})
    assert by_member.status_code == 400  # the only owner
    removed = post(client, "/organization/remove-member", {"memberIdOrEmail": "member@example.com"})
    assert (removed.status_code, removed.json["member"]["user"]["email"]) == (200, "member@example.com")
    assert session_of(member)["session"]["activeOrganizationId"] is None
    denied = get(member, "/organization/list-members", organizationId=org["id"])
    assert (denied.status_code, denied.json["code"]) == (403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")


def test_set_active_refuses_foreign_organizations(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    mine = create_org(client, "mine")
    other = app.test_client()
    sign_up(other, "other@example.com")
    theirs = create_org(other, "theirs")

    refused = post(client, "/organization/set-active", {"organizationId": theirs["id"]})
    assert (refused.status_code, refused.json["code"]) == (403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    assert session_of(client)["session"]["activeOrganizationId"] is None
    back = post(client, "/organization/set-active", {"organizationSlug": "mine"})
    assert (back.status_code, back.json["id"]) == (200, mine["id"])
    assert any(c.startswith(f"{SESSION_COOKIE}=") for c in back.headers.getlist("Set-Cookie"))
    assert session_of(client)["session"]["activeOrganizationId"] == mine["id"]
    cleared = post(client, "/organization/set-active", {"organizationId": None})
    assert (cleared.status_code, cleared.json) == (200, None)
    assert session_of(client)["session"]["activeOrganizationId"] is None


def _context_of(app: Flask, client: FlaskClient) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    with app.test_request_context("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"}):
        resolve_identity()
        value: str | None = current().organization_id
        return value


def test_context_hook_applies_only_without_an_active_organization(app: Flask, client: FlaskClient) -> None:
    sign_up(client, "owner@example.com")
    first = create_org(client, "first")
    second = create_org(client, "second")  # now active
    assert _context_of(app, client) == second["id"]  # the explicit choice stands
    post(client, "/organization/set-active", {"organizationId": None})
    assert _context_of(app, client) == first["id"]  # none chosen: the oldest membership
    assert session_of(client)["session"]["activeOrganizationId"] is None  # and the session is untouched

    loner = app.test_client()
    sign_up(loner, "loner@example.com")
    assert _context_of(app, loner) is None
