"""Organizations: list and create, switch the active one, settings, members and their roles,
invitations sent (cancel) and received (accept, reject), leave, delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.modules.auth.organization import invitation_routes as invitations
from app.modules.auth.organization import member_routes as members
from app.modules.auth.organization import org_routes as orgs
from app.web import bp
from app.web.calls import Outcome, call, carry_cookies
from app.web.context import current_session, login_required
from app.web.forms import ActionForm, InviteForm, MemberRoleForm, OrganizationForm, show_errors

SLUG_ERRORS = {"ORGANIZATION_ALREADY_EXISTS": "slug", "ORGANIZATION_SLUG_ALREADY_TAKEN": "slug"}


@bp.route("/organizations", methods=["GET", "POST"])
@login_required
def organizations() -> ResponseReturnValue:
    form = OrganizationForm()
    if form.validate_on_submit():
        created = call(orgs.org_create_organization, endpoint_name="auth.org_create_organization",
                       body={"name": form.name.data, "slug": form.slug.data})
        if created.ok:
            flash(f"{created.data['name']} is created, and you are its owner.", "info")
            return carry_cookies(created.response,
                                 redirect(url_for("web.organization", org_id=created.data["id"]), code=303))
        show_errors(form, created, SLUG_ERRORS)
        if created.code and not any(f.errors for f in form):
            form.slug.errors = [created.message]
    listed = call(orgs.org_list_organizations)
    received = call(invitations.org_list_user_invitations, query={})
    pending = [i for i in (received.data or []) if i.get("status") == "pending"] if received.ok else []
    active = current_session().session.get("activeOrganizationId")
    return render_template("web/organizations.html", form=form, organizations=listed.data if listed.ok else [],
                           received=pending, active=active, unconfirmed=_unconfirmed(received)),\
        (400 if form.errors else 200)


def _unconfirmed(outcome: Outcome) -> str | None:
    """The signed-in user's address when ``outcome`` was refused for want of a confirmed one."""
    if outcome.code != "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION":
        return None
    return str(current_session().user.get("email") or "") or None


@bp.post("/organizations/<org_id>/activate")
@login_required
def organization_activate(org_id: str) -> ResponseReturnValue:
    outcome = call(orgs.org_set_active, endpoint_name="auth.org_set_active", body={"organizationId": org_id})
    flash(f"You now work in {outcome.data['name']}." if outcome.ok else outcome.message,
          "info" if outcome.ok else "error")
    return carry_cookies(outcome.response, redirect(url_for("web.organizations"), code=303))


def _full(org_id: str) -> dict[str, Any]:
    found = call(orgs.org_get_full_organization, query={"organizationId": org_id})
    if not found.ok or not found.data:
        abort(403 if found.error is not None and found.error.status == 403 else 404)
    full: dict[str, Any] = found.data
    return full


@bp.route("/organizations/<org_id>", methods=["GET", "POST"])
@login_required
def organization(org_id: str) -> ResponseReturnValue:
    full = _full(org_id)
    settings = OrganizationForm(prefix="org", data={"name": full["name"], "slug": full["slug"]})
    invite = InviteForm(prefix="invite")
    if request.method == "POST" and "org-name" in request.form and settings.validate_on_submit():
        outcome = call(orgs.org_update_organization, endpoint_name="auth.org_update_organization",
                       body={"organizationId": org_id, "data": {"name": settings.name.data,
                                                                "slug": settings.slug.data}})
        if outcome.ok:
            flash("The organization is saved.", "info")
            return redirect(url_for("web.organization", org_id=org_id), code=303)
        show_errors(settings, outcome, SLUG_ERRORS)
        if not any(f.errors for f in settings):
            settings.name.errors = [outcome.message]
    elif request.method == "POST" and "invite-email" in request.form and invite.validate_on_submit():
        outcome = call(invitations.org_invite_member, endpoint_name="auth.org_invite_member",
                       body={"organizationId": org_id, "email": invite.email.data, "role": invite.role.data})
        if outcome.ok:
            flash(f"{invite.email.data} is invited; we mailed them a link.", "info")
            return redirect(url_for("web.organization", org_id=org_id), code=303)
        invite.email.errors = [outcome.message]
    me = current_session().user_id
    my_role = next((m["role"] for m in full["members"] if m["userId"] == me), "")
    return render_template(
        "web/organization.html", org=full, settings=settings, invite=invite, my_role=my_role, me=me,
        role_form=MemberRoleForm, can_manage=bool({"owner", "admin"} & set(my_role.split(","))),
        pending=[i for i in full.get("invitations", []) if i.get("status") == "pending"],
    ), (400 if settings.errors or invite.errors else 200)


def _back(org_id: str, outcome: Outcome, done: str) -> ResponseReturnValue:
    flash(done if outcome.ok else outcome.message, "info" if outcome.ok else "error")
    return carry_cookies(outcome.response, redirect(url_for("web.organization", org_id=org_id), code=303))


@bp.post("/organizations/<org_id>/members/role")
@login_required
def organization_member_role(org_id: str) -> ResponseReturnValue:
    form = MemberRoleForm()
    outcome = call(members.org_update_member_role, endpoint_name="auth.org_update_member_role",
                   body={"organizationId": org_id, "memberId": form.target.data or "", "role": form.role.data})
    return _back(org_id, outcome, "The role is saved.")


@bp.post("/organizations/<org_id>/members/remove")
@login_required
def organization_member_remove(org_id: str) -> ResponseReturnValue:
    form = ActionForm()
    outcome = call(members.org_remove_member, endpoint_name="auth.org_remove_member",
                   body={"organizationId": org_id, "memberIdOrEmail": form.target.data or ""})
    return _back(org_id, outcome, "The member is removed.")


@bp.post("/organizations/<org_id>/invitations/cancel")
@login_required
def organization_invitation_cancel(org_id: str) -> ResponseReturnValue:
    form = ActionForm()
    outcome = call(invitations.org_cancel_invitation, endpoint_name="auth.org_cancel_invitation",
                   body={"invitationId": form.target.data or ""})
    return _back(org_id, outcome, "The invitation is cancelled.")


@bp.post("/organizations/<org_id>/leave")
@login_required
def organization_leave(org_id: str) -> ResponseReturnValue:
    outcome = call(members.org_leave_organization, endpoint_name="auth.org_leave_organization",
                   body={"organizationId": org_id})
    if not outcome.ok:
        return _back(org_id, outcome, "")
    flash("You left the organization.", "info")
    return carry_cookies(outcome.response, redirect(url_for("web.organizations"), code=303))


@bp.post("/organizations/<org_id>/delete")
@login_required
def organization_delete(org_id: str) -> ResponseReturnValue:
    outcome = call(orgs.org_delete_organization, endpoint_name="auth.org_delete_organization",
                   body={"organizationId": org_id})
    if not outcome.ok:
        return _back(org_id, outcome, "")
    flash("The organization is deleted.", "info")
    return carry_cookies(outcome.response, redirect(url_for("web.organizations"), code=303))


@bp.route("/accept-invitation/<invitation_id>", methods=["GET", "POST"])
@login_required
def invitation(invitation_id: str) -> ResponseReturnValue:
    """Where the mailed invitation link lands: accept or reject (as the invited address only)."""
    if request.method == "POST":
        ActionForm()
        accept = request.form.get("answer") == "accept"
        view = invitations.org_accept_invitation if accept else invitations.org_reject_invitation
        name = "auth.org_accept_invitation" if accept else "auth.org_reject_invitation"
        outcome = call(view, endpoint_name=name, body={"invitationId": invitation_id})
        if outcome.ok and accept:
            org_id = outcome.data["invitation"]["organizationId"]
            flash("Welcome: you are a member now.", "info")
            return carry_cookies(outcome.response, redirect(url_for("web.organization", org_id=org_id), code=303))
        if _unconfirmed(outcome):
            return redirect(url_for("web.invitation", invitation_id=invitation_id), code=303)
        flash("The invitation is declined." if outcome.ok else outcome.message, "info" if outcome.ok else "error")
        return redirect(url_for("web.organizations"), code=303)
    found = call(invitations.org_get_invitation, query={"id": invitation_id})
    unconfirmed = _unconfirmed(found)  # get-invitation refuses an unconfirmed recipient, as accept does
    status = 200 if found.ok or unconfirmed else 404
    return render_template("web/invitation.html", invitation=found.data if found.ok else None,
                           problem=None if found.ok else found.message, unconfirmed=unconfirmed), status
