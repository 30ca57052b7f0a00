"""The account pages: profile, email change, password change, and the sessions list."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.modules.auth.routes import account as account_routes
from app.modules.auth.routes import sessions as session_routes
from app.modules.auth.routes import verification
from app.web import bp
from app.web.calls import call, carry_cookies
from app.web.context import current_session, login_required
from app.web.forms import ActionForm, ChangeEmailForm, ChangePasswordForm, ProfileForm, show_errors


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    user = current_session().user
    profile = ProfileForm(data={k: user.get(k) for k in ("name", "firstname", "lastname", "bio")})
    email = ChangeEmailForm(prefix="email")
    if request.method == "POST" and "email-new_email" in request.form:
        if email.validate_on_submit():
            outcome = call(
                verification.change_email, endpoint_name="auth.change_email",
                body={"newEmail": email.new_email.data, "callbackURL": url_for("web.email_verified")},
            )
            if outcome.ok:
                flash(f"We mailed a confirmation link to {email.new_email.data}. Your address changes once "
                      "you follow it.", "info")
                return redirect(url_for("web.account"), code=303)
            show_errors(email, outcome, {"EMAIL_IS_THE_SAME": "new_email"})
    elif profile.validate_on_submit():
        outcome = call(
            account_routes.update_user, endpoint_name="auth.update_user",
            body={"name": profile.name.data, "firstname": profile.firstname.data or None,
                  "lastname": profile.lastname.data or None, "bio": profile.bio.data or None},
        )
        if outcome.ok:
            flash("Your profile is saved.", "info")
            return carry_cookies(outcome.response, redirect(url_for("web.account"), code=303))
        show_errors(profile, outcome)
    return render_template("web/account.html", profile=profile, email=email, account=user)


@bp.route("/account/security", methods=["GET", "POST"])
@login_required
def security() -> ResponseReturnValue:
    """Password change, the two-factor status, and the sessions signed in to the account."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        outcome = call(
            account_routes.change_password, endpoint_name="auth.change_password",
            body={"currentPassword": form.current_password.data, "newPassword": form.new_password.data,
                  "revokeOtherSessions": form.revoke_other_sessions.data},
        )
        if outcome.ok:
            flash("Your password is changed.", "info")
            return carry_cookies(outcome.response, redirect(url_for("web.security"), code=303))
        show_errors(form, outcome, {"INVALID_PASSWORD": "current_password", "PASSWORD_TOO_SHORT": "new_password",
                                    "PASSWORD_TOO_LONG": "new_password"})
        if outcome.code == "INVALID_PASSWORD":
            form.current_password.errors = ["That is not your current password."]
    listed = call(session_routes.list_sessions)
    sessions = listed.data if listed.ok else []
    this_id = current_session().session_id
    return render_template(
        "web/security.html", form=form, sessions=sessions, this_id=this_id,
        sessions_error=None if listed.ok else "Sign in again to see your sessions (this one is too old).",
        two_factor=bool(current_session().user.get("twoFactorEnabled")),
    )


@bp.post("/account/sessions/revoke")
@login_required
def revoke_session() -> ResponseReturnValue:
    form = ActionForm()
    outcome = call(session_routes.revoke_session, endpoint_name="auth.revoke_session",
                   body={"token": form.target.data or ""})
    if form.target.data == current_session().session_id:
        return carry_cookies(outcome.response, redirect(url_for("web.sign_in"), code=303))
    flash("That session is signed out." if outcome.ok else outcome.message, "info" if outcome.ok else "error")
    return carry_cookies(outcome.response, redirect(url_for("web.security"), code=303))


@bp.post("/account/sessions/revoke-others")
@login_required
def revoke_other_sessions() -> ResponseReturnValue:
    outcome = call(session_routes.revoke_other_sessions, endpoint_name="auth.revoke_other_sessions")
    flash("Every other session is signed out." if outcome.ok else outcome.message, "info" if outcome.ok else "error")
    return carry_cookies(outcome.response, redirect(url_for("web.security"), code=303))
