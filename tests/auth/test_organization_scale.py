"""A permission check costs the same for 5 members as for 5,000, and sees role changes at once.

Counts the SQL statements of ``member_has_permission`` with an SQLAlchemy event listener: one
indexed lookup of (organizationId, userId), no member-list scan, for both sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, insert

from app.extensions import db
from app.modules.auth.models import User, utcnow
from app.modules.auth.organization.models import Member, Organization
from app.modules.auth.organization.service import member_has_permission, member_role
from tests.auth.helpers import post, sign_up, verify_email


def _organization(app: Flask, org_id: str, size: int) -> str:
    """An organization of ``size`` members (bulk inserted); returns the id of its last member's user."""
    now = utcnow()
    with app.app_context():
        db.session.add(Organization(id=org_id, name=org_id, slug=org_id, created_at=now))
        db.session.flush()
        users = [{"id": f"{org_id}-u{i}", "name": "u", "email": f"{org_id}-{i}@example.com", "email_verified": True,
                  "created_at": now, "updated_at": now} for i in range(size)]
        db.session.execute(insert(User), users)
        members = [{"id": f"{org_id}-m{i}", "organization_id": org_id, "user_id": f"{org_id}-u{i}",
                    "role": "owner" if i == 0 else "member", "created_at": now} for i in range(size)]
        db.session.execute(insert(Member), members)
        db.session.commit()
    return f"{org_id}-u{size - 1}"


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)


def _check_cost(app: Flask, org_id: str, user_id: str) -> list[str]:
    with counting(app) as statements, app.test_request_context("/"):
        assert member_has_permission(user_id, org_id, {"project": ["read"]}) is True
        assert member_has_permission(user_id, org_id, {"project": ["delete"]}) is False
        assert member_has_permission("nobody", org_id, {"project": ["read"]}) is False
    return statements


def test_permission_check_cost_does_not_grow_with_the_organization(app: Flask) -> None:
    small_user = _organization(app, "small", 5)
    large_user = _organization(app, "large", 5000)
    small = _check_cost(app, "small", small_user)
    large = _check_cost(app, "large", large_user)
    # one lookup per (user, organization) in a request: the member and the stranger
    assert len(small) == len(large) == 2
    lookup = small[0].lower()
    assert "where" in lookup and '"organizationid"' in lookup.replace("`", '"') and "limit" not in lookup
    assert "count(" not in " ".join(large).lower()


def test_role_change_is_seen_at_once_by_another_process(make_app: Any) -> None:
    """Two apps on one database (and one Redis when configured) stand for two workers."""
    first, second = make_app(), make_app()
    owner = first.test_client()
    sign_up(owner, "owner@example.com")
    org_id = post(owner, "/organization/create", {"name": "Acme", "slug": "acme"}).json["id"]
    other = first.test_client()
    sign_up(other, "member@example.com")
    verify_email(first, "member@example.com")
    invitation = post(owner, "/organization/invite-member", {"email": "member@example.com", "role": "member"}).json
    member = post(other, "/organization/accept-invitation", {"invitationId": invitation["id"]}).json["member"]

    def allowed_in_second() -> bool:
        with second.test_request_context("/"):
            return member_has_permission(member["userId"], org_id, {"project": ["delete"]})

    assert allowed_in_second() is False
    promoted = post(owner, "/organization/update-member-role", {"memberId": member["id"], "role": "admin"})
    assert promoted.status_code == 200
    assert allowed_in_second() is True
    post(owner, "/organization/remove-member", {"memberIdOrEmail": member["id"]})
    with second.test_request_context("/"):
        assert member_role(member["userId"], org_id) is None
