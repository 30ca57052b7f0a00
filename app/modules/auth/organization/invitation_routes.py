"""Invitations (better-auth ``routes/crud-invites``): invite, get, list, accept, reject, cancel.

An invitation is a bearer link to a membership, so (OWASP ASVS V4.2 / V2.5): only the invited email
may read, accept or reject it; it expires (48 h by default); accepting is a compare-and-set on its
``pending`` status, so two racing accepts cannot both succeed; only members who may create
invitations see them, and only holders of the creator role see invitations that grant it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.core.api import endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.extensions import db, rows_matched
from app.modules import audit_logger
from app.modules.auth.crypto import generate_id
from app.modules.auth.emails import invitation_email
from app.modules.auth.identity import resolve_identity
from app.modules.auth.models import User, utcnow
from app.modules.auth.organization import schemas as s
from app.modules.auth.organization.common import (
    TAGS,
    find_organization,
    org_error,
    set_active_organization,
    target_organization_id,
    with_cookie,
)
from app.modules.auth.organization.models import Invitation, Member, Organization
from app.modules.auth.organization.roles import CREATOR_ROLE, ROLE_NAMES
from app.modules.auth.organization.serializers import invitation_json, member_json
from app.modules.auth.organization.service import (
    find_member,
    forget_memberships,
    member_allows,
    memberships_changed,
    parse_role_list,
    require_member_permission,
)
from app.modules.auth.organization.settings import org_settings
from app.modules.auth.organization.team_service import invitation_team_ids, join_invited_teams
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard, settings
from app.modules.auth.routes.verification import send_auth_mail
from app.modules.auth.schemas import normalize_email


def _send_invitation(invitation: Invitation, organization_name: str, inviter: str) -> None:
    """Mailed off the request thread, like every auth mail (the module's on_close waits for it)."""
    url = org_settings().invitation_url.format(base_url=settings().base_url, id=invitation.id)
    message = invitation_email(invitation.email, organization_name, inviter, url)
    send_auth_mail(message)


def _check_roles(roles: list[str]) -> None:
    if not roles:
        raise org_error(400, "ROLE_NOT_FOUND")
    unknown = [role for role in roles if role not in ROLE_NAMES]
    if unknown:
        raise ApiError(400, "ROLE_NOT_FOUND", f"ROLE_NOT_FOUND: {', '.join(unknown)}")


def _pending(organization_id: str, email: str | None = None) -> list[Invitation]:
    where = [
        Invitation.organization_id == organization_id,
        Invitation.status == "pending",
        Invitation.expires_at > utcnow(),
    ]
    if email is not None:
        where.append(Invitation.email == email)
    return list(db.session.scalars(select(Invitation).where(*where).order_by(Invitation.created_at)))


def visible_invitations(role: str, organization_id: str) -> Sequence[Invitation]:
    """What a member may see: nothing without invitation:create; creator-role invitations only for its holders."""
    if not member_allows(role, {"invitation": ["create"]}):
        return []
    rows = db.session.scalars(
        select(Invitation).where(Invitation.organization_id == organization_id).order_by(Invitation.created_at)
    ).all()
    if CREATOR_ROLE in parse_role_list(role):
        return rows
    return [row for row in rows if CREATOR_ROLE not in parse_role_list(row.role)]


@bp.post("/organization/invite-member")
@endpoint(
    summary="Invite an email address to the organization (mailed; expires)",
    tags=TAGS,
    body=s.InviteMemberBody,
    response=s.InvitationOut,
    responses={400: "Already a member or invited, unknown role", 403: "Not allowed, or limit reached"},
)
@session_guard
def org_invite_member(body: s.InviteMemberBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(resolved, body.organization_id, org_error(400, "ORGANIZATION_NOT_FOUND"))
    try:
        email = normalize_email(body.email)
    except ValueError:
        raise ApiError(400, "INVALID_EMAIL", "Invalid email") from None
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise org_error(400, "MEMBER_NOT_FOUND")
    require_member_permission(me.role, {"invitation": ["create"]},
                              org_error(403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION"))
    roles = parse_role_list(body.role)
    _check_roles(roles)
    is_creator = CREATOR_ROLE in parse_role_list(me.role)
    if CREATOR_ROLE in roles and not is_creator:
        raise org_error(403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
    invitee = db.session.scalar(select(User).where(User.email == email))
    if invitee is not None and find_member(invitee.id, organization_id) is not None:
        raise org_error(400, "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION")
    options = org_settings()
    already = _pending(organization_id, email)
    if already and not body.resend and not options.cancel_pending_invitations_on_re_invite:
        raise org_error(400, "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION")
    org = find_organization(organization_id)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    inviter = resolved.user.get("name") or resolved.user["email"]
    expires = utcnow() + timedelta(seconds=options.invitation_expires_in)
    if already and body.resend:
        existing = already[0]
        if CREATOR_ROLE in parse_role_list(existing.role) and not is_creator:
            raise org_error(403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
        existing.expires_at = expires
        db.session.commit()
        _send_invitation(existing, org.name, inviter)
        return json_response(invitation_json(existing))
    if already:  # cancel_pending_invitations_on_re_invite
        for row in already:
            row.status = "canceled"
    if len(_pending(organization_id)) - len(already) >= options.invitation_limit:
        raise org_error(403, "INVITATION_LIMIT_REACHED")
    team_ids = invitation_team_ids(organization_id, body.team_id)
    invitation = Invitation(
        id=generate_id(32),
        organization_id=organization_id,
        email=email,
        role=",".join(roles),
        team_id=team_ids,
        status="pending",
        expires_at=expires,
        created_at=utcnow(),
        inviter_id=resolved.user_id,
    )
    db.session.add(invitation)
    db.session.commit()
    _send_invitation(invitation, org.name, inviter)
    audit_logger.log_async(
        actor_id=resolved.user_id,
        action="organization.invite",
        resource_type="invitation",
        resource_id=invitation.id,
        organization_id=organization_id,
        details={"role": invitation.role},
    )
    return json_response(invitation_json(invitation))


def _caller_email_verified() -> bool:
    user = current().user
    return bool(user is not None and user.json.get("emailVerified"))


def _own_invitation(invitation_id: str, email: str, *, check_expiry: bool = True) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != "pending" or (check_expiry and invitation.expires_at < utcnow()):
        raise org_error(400, "INVITATION_NOT_FOUND")
    if invitation.email.lower() != email.lower():
        raise org_error(403, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
    if org_settings().require_email_verification_on_invitation and not _caller_email_verified():
        # Without a verified address, whoever signed up first with the invited email would join.
        raise org_error(403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION")
    return invitation


@bp.get("/organization/get-invitation")
@endpoint(
    summary="An invitation addressed to the caller, with its organization's name",
    tags=TAGS,
    query=s.InvitationQuery,
    response=s.InvitationDetailsOut,
    responses={400: "Not found or expired", 403: "Addressed to someone else"},
)
@session_guard
def org_get_invitation(query: s.InvitationQuery) -> ResponseReturnValue:
    resolved = require_session()
    invitation = _own_invitation(query.id, resolved.user["email"])
    org = find_organization(invitation.organization_id)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    inviter = db.session.execute(
        select(User.email)
        .join(Member, Member.user_id == User.id)
        .where(Member.organization_id == org.id, Member.user_id == invitation.inviter_id)
    ).scalar()
    if inviter is None:
        raise org_error(400, "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION")
    return json_response(
        {
            **invitation_json(invitation),
            "organizationName": org.name,
            "organizationSlug": org.slug,
            "inviterEmail": inviter,
        }
    )


@bp.get("/organization/list-invitations")
@endpoint(
    summary="The organization's invitations (needs invitation:create)",
    tags=TAGS,
    query=s.ListInvitationsQuery,
    response=list[s.InvitationOut],
    responses={403: "Not a member, or not allowed"},
)
@session_guard
def org_list_invitations(query: s.ListInvitationsQuery) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(
        resolved, query.organization_id, ApiError(400, "BAD_REQUEST", "Organization ID is required")
    )
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise ApiError(403, "FORBIDDEN", "You are not a member of this organization")
    require_member_permission(me.role, {"invitation": ["create"]},
                              org_error(403, "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS"))
    return json_response([invitation_json(i) for i in visible_invitations(me.role, organization_id)])


@bp.get("/organization/list-user-invitations")
@endpoint(
    summary="Pending invitations addressed to the caller's (verified) email",
    tags=TAGS,
    query=s.ListUserInvitationsQuery,
    response=list[s.UserInvitationOut],
    responses={403: "Email not verified"},
)
def org_list_user_invitations(query: s.ListUserInvitationsQuery) -> ResponseReturnValue:
    if query.email:
        raise ApiError(400, "BAD_REQUEST", "User email cannot be passed for client side API calls.")
    resolved = resolve_identity()
    if resolved is None:  # better-auth: the email comes from the session or (server-side) the query
        raise ApiError(400, "BAD_REQUEST", "Missing session headers, or email query parameter.")
    if not resolved.user.get("emailVerified"):
        raise org_error(403, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION")
    rows = db.session.execute(
        select(Invitation, Organization.name)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(Invitation.email == resolved.user["email"].lower(), Invitation.status == "pending")
        .order_by(Invitation.created_at)
    ).all()
    return json_response([{**invitation_json(i), "organizationName": name} for i, name in rows])


@bp.post("/organization/accept-invitation")
@endpoint(
    summary="Accept an invitation addressed to the caller; joins and activates the organization",
    tags=TAGS,
    body=s.InvitationIdBody,
    response=s.InvitationResultOut,
    responses={400: "Not found or expired", 403: "Someone else's, or membership limit reached"},
)
@session_guard
def org_accept_invitation(body: s.InvitationIdBody) -> ResponseReturnValue:
    resolved = require_session()
    invitation = _own_invitation(body.invitation_id, resolved.user["email"])
    organization_id = invitation.organization_id
    count = db.session.scalar(select(func.count()).select_from(Member).where(Member.organization_id == organization_id))
    if find_organization(organization_id) is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    if (count or 0) >= org_settings().membership_limit:
        raise org_error(403, "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED")
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "pending")
        .values(status="accepted")
        .execution_options(synchronize_session=False)
    )
    if rows_matched(claimed) != 1:
        db.session.rollback()
        raise org_error(400, "INVITATION_NOT_FOUND")
    member = Member(
        id=generate_id(32),
        organization_id=organization_id,
        user_id=resolved.user_id,
        role=",".join(parse_role_list(invitation.role)) or "member",
        created_at=utcnow(),
    )
    db.session.add(member)
    try:
        one_team = join_invited_teams(invitation, resolved)
    except ApiError:
        db.session.rollback()  # the invitation stays pending
        raise
    set_active_organization(resolved, organization_id)
    memberships_changed(resolved.user_id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise org_error(400, "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION") from None
    forget_memberships()
    db.session.refresh(invitation)
    audit_logger.log_async(
        actor_id=resolved.user_id,
        action="organization.join",
        resource_type="member",
        resource_id=member.id,
        organization_id=organization_id,
        details={"invitation": invitation.id, "role": member.role},
    )
    response = json_response({"invitation": invitation_json(invitation), "member": member_json(member)})
    return with_cookie(response, resolved) if one_team else response  # as better-auth


@bp.post("/organization/reject-invitation")
@endpoint(
    summary="Reject an invitation addressed to the caller",
    tags=TAGS,
    body=s.InvitationIdBody,
    response=s.InvitationResultOut,
    responses={400: "Not found", 403: "Addressed to someone else"},
)
@session_guard
def org_reject_invitation(body: s.InvitationIdBody) -> ResponseReturnValue:
    resolved = require_session()
    invitation = _own_invitation(body.invitation_id, resolved.user["email"], check_expiry=False)
    # A compare-and-set on ``pending``, as accepting: a racing accept and reject cannot both happen.
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "pending")
        .values(status="rejected")
        .execution_options(synchronize_session=False)
    )
    if rows_matched(claimed) != 1:
        db.session.rollback()
        raise org_error(400, "INVITATION_NOT_FOUND")
    db.session.commit()
    db.session.refresh(invitation)
    audit_logger.log_async(
        actor_id=resolved.user_id,
        action="organization.invitation_reject",
        resource_type="invitation",
        resource_id=invitation.id,
        organization_id=invitation.organization_id,
    )
    return json_response({"invitation": invitation_json(invitation), "member": None})


@bp.post("/organization/cancel-invitation")
@endpoint(
    summary="Cancel a pending invitation (needs invitation:cancel)",
    tags=TAGS,
    body=s.InvitationIdBody,
    response=s.InvitationOut,
    responses={400: "Not found", 403: "Not allowed"},
)
@session_guard
def org_cancel_invitation(body: s.InvitationIdBody) -> ResponseReturnValue:
    resolved = require_session()
    invitation = db.session.get(Invitation, body.invitation_id)
    me = find_member(resolved.user_id, invitation.organization_id) if invitation is not None else None
    if invitation is None or me is None:  # another organization's invitation answers as an unknown one
        raise org_error(400, "INVITATION_NOT_FOUND")
    require_member_permission(me.role, {"invitation": ["cancel"]},
                              org_error(403, "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION"))
    invitation.status = "canceled"
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id,
        action="organization.invitation_cancel",
        resource_type="invitation",
        resource_id=invitation.id,
        organization_id=invitation.organization_id,
    )
    return json_response(invitation_json(invitation))
