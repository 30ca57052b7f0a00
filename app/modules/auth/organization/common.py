"""What the organization routes share: error codes, lookups, the active organization of a session."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select, update

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.models import Session
from app.modules.auth.organization.models import Member, Organization
from app.modules.auth.routes.common import with_session_cookie
from app.modules.auth.sessions import ResolvedSession, session_changed

TAGS = ["Organization"]

#: better-auth's ORGANIZATION_ERROR_CODES messages, by code.
MESSAGES = {
    "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION": "You are not allowed to create a new organization",
    "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS": "You have reached the maximum number of organizations",
    "ORGANIZATION_ALREADY_EXISTS": "Organization already exists",
    "ORGANIZATION_SLUG_ALREADY_TAKEN": "Organization slug already taken",
    "ORGANIZATION_NOT_FOUND": "Organization not found",
    "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION": "User is not a member of the organization",
    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION": "You are not allowed to update this organization",
    "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION": "You are not allowed to delete this organization",
    "NO_ACTIVE_ORGANIZATION": "No active organization",
    "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION": "User is already a member of this organization",
    "MEMBER_NOT_FOUND": "Member not found",
    "ROLE_NOT_FOUND": "Role not found",
    "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER": "You cannot leave the organization as the only owner",
    "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER": "You cannot leave the organization without an owner",
    "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER": "You are not allowed to delete this member",
    "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION": (
        "You are not allowed to invite users to this organization"
    ),
    "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION": "User is already invited to this organization",
    "INVITATION_NOT_FOUND": "Invitation not found",
    "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION": "You are not the recipient of the invitation",
    "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION": (
        "Email verification required to view or list invitations for the session email"
    ),
    "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION": "You are not allowed to cancel this invitation",
    "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS": "You are not allowed to list invitations for this organization",
    "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION": "Inviter is no longer a member of the organization",
    "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE": "You are not allowed to invite a user with this role",
    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER": "You are not allowed to update this member",
    "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED": "Organization membership limit reached",
    "INVITATION_LIMIT_REACHED": "Invitation limit reached",
    "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION": "You are not a member of this organization",
}


def org_error(status: int, code: str) -> ApiError:
    return ApiError(status, code, MESSAGES[code])


def active_organization_id(resolved: ResolvedSession) -> str | None:
    value: str | None = resolved.session.get("activeOrganizationId")
    return value


def target_organization_id(resolved: ResolvedSession, given: str | None, missing: ApiError) -> str:
    """The organization a request names, else the session's active one; ``missing`` when neither
    (each endpoint answers better-auth's own error for that)."""
    organization_id = given or active_organization_id(resolved)
    if not organization_id:
        raise missing
    return organization_id


def find_organization(organization_id: str | None = None, slug: str | None = None) -> Organization | None:
    if slug:
        return db.session.scalar(select(Organization).where(Organization.slug == slug))
    if organization_id:
        return db.session.get(Organization, organization_id)
    return None


def find_member_by_id(member_id: str, organization_id: str | None = None) -> Member | None:
    """The member with this id; with ``organization_id``, only if it belongs there.

    A member of another organization is None, exactly as an unknown id, so no answer tells whether
    a foreign id exists or which role its holder has (OWASP ASVS 4.0 V4.2.1, IDOR).
    """
    member = db.session.get(Member, member_id)
    if member is None or (organization_id is not None and member.organization_id != organization_id):
        return None
    return member


def set_active_organization(resolved: ResolvedSession, organization_id: str | None) -> None:
    """Point this session at the organization (not committed); its cached copy is marked stale first."""
    session_changed(resolved)
    db.session.execute(
        update(Session).where(Session.token == resolved.token_hash).values(active_organization_id=organization_id)
    )


def with_cookie(response: Response, resolved: ResolvedSession) -> Response:
    """Re-set the session cookie, as better-auth does after changing the active organization."""
    return with_session_cookie(response, resolved.token, dont_remember=resolved.dont_remember)
