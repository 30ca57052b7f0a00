"""Accepting an organization invitation must prove control of the invited address.

``list-user-invitations`` already refuses an unverified email (EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION),
but ``get-invitation`` and ``accept-invitation`` only compare the session's email string with the
invitation's. Sign-up does not verify emails by default, so anyone can register the invited
address first and join the organization with the invited role (pre-account hijacking).
"""

from __future__ import annotations

from flask import Flask

from tests.auth.helpers import post, sign_up


def test_an_unverified_account_cannot_accept_an_invitation_for_its_email(app: Flask) -> None:
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    org = post(owner, "/organization/create", {"name": "Acme", "slug": "acme"}).json["id"]
    invitation = post(owner, "/organization/invite-member",
                      {"email": "cfo@example.com", "role": "admin", "organizationId": org})
    assert invitation.status_code == 200, invitation.json

    squatter = app.test_client()  # registers the invited address first; never verifies it
    me = sign_up(squatter, "cfo@example.com")["user"]
    assert me["emailVerified"] is False

    accepted = post(squatter, "/organization/accept-invitation", {"invitationId": invitation.json["id"]})
    assert accepted.status_code == 403
    assert accepted.json["code"] == "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"
    members = owner.get("/api/v1/auth/organization/list-members", query_string={"organizationId": org}).json
    assert [m["user"]["email"] for m in members["members"]] == ["owner@example.com"]
