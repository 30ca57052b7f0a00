"""Signing in and out: email and password, the two-factor step, sign-up, password reset, email
verification, and the Keycloak button. Each POST runs the auth API's own route function."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.modules.auth.routes import email_password, verification
from app.web import bp
from app.web.calls import Outcome, call, carry_cookies
from app.web.context import keycloak_enabled, requires_auth_module, safe_next, signed_in_user
from app.web.forms import BackupCodeForm, EmailForm, ResetPasswordForm, SignInForm, SignUpForm, TotpForm, show_errors
from app.web.session_store import renew

#: Where, in the Flask session, a sign-in waiting for its second factor keeps its return address.
PENDING_NEXT = "web.pending_next"

PASSWORD_ERRORS = {"PASSWORD_TOO_SHORT": "password", "PASSWORD_TOO_LONG": "password"}


def _go(outcome: Outcome, target: str) -> ResponseReturnValue:
    """Redirect (303: the browser GETs the next page) with the cookies the API call set."""
    return carry_cookies(outcome.response, redirect(target, code=303))


def _signed_in(outcome: Outcome, target: str) -> ResponseReturnValue:
    """:func:`_go` after a completed sign-in, on a new page-session id."""
    renew()
    return _go(outcome, target)


@bp.route("/sign-in", methods=["GET", "POST"])
@requires_auth_module
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if signed_in_user() is not None:
            return redirect(form.next.data)
    error = None
    if form.validate_on_submit():
        target = safe_next(form.next.data)
        outcome = call(
            email_password.sign_in,
            endpoint_name="auth.sign_in",
            body={"email": form.email.data, "password": form.password.data, "rememberMe": form.remember_me.data},
        )
        if outcome.ok and outcome.data.get("twoFactorRedirect"):
            session[PENDING_NEXT] = target
            return _go(outcome, url_for("web.two_factor_challenge"))
        if outcome.ok:
            return _signed_in(outcome, target)
        error = show_errors(form, outcome)
        if outcome.code == "EMAIL_NOT_VERIFIED":
            error = "Your email address is not verified yet. Follow the link we mailed you, or ask for a new one below."
    return render_template("web/sign_in.html", form=form, error=error, keycloak=keycloak_enabled())


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@requires_auth_module
def two_factor_challenge() -> ResponseReturnValue:
    """The second step of a 2FA user's sign-in: a TOTP code or a backup code, and "trust this device"."""
    from app.modules.auth.two_factor import routes as tf

    totp, backup = TotpForm(prefix="totp"), BackupCodeForm(prefix="backup")
    submitted = totp if "totp-code" in request.form else backup
    if request.method == "POST" and submitted.validate_on_submit():
        view = tf.verify_totp if submitted is totp else tf.verify_backup_code
        name = "auth.two_factor_verify_totp" if submitted is totp else "auth.two_factor_verify_backup_code"
        outcome = call(
            view, endpoint_name=name,
            body={"code": submitted.code.data.strip(), "trustDevice": submitted.trust_device.data},
        )
        if outcome.ok:
            return _signed_in(outcome, safe_next(session.pop(PENDING_NEXT, None)))
        if outcome.code in ("INVALID_TWO_FACTOR_COOKIE", "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"):
            flash("That sign-in has expired or had too many wrong codes. Sign in again.", "error")
            return _go(outcome, url_for("web.sign_in", next=session.get(PENDING_NEXT)))
        submitted.code.errors = [_plain(outcome)]
    return render_template("web/two_factor_challenge.html", totp=totp, backup=backup)


def _plain(outcome: Outcome) -> str:
    return {
        "INVALID_CODE": "That code is not right, or it was already used. Wait for the next one and try again.",
        "INVALID_BACKUP_CODE": "That backup code is not right, or it was already used.",
    }.get(outcome.code, outcome.message)


@bp.post("/sign-in/keycloak")
@requires_auth_module
def sign_in_keycloak() -> ResponseReturnValue:
    """Start the sign-in with the identity provider: the API answers its authorize URL."""
    from app.modules.auth.oidc import routes as oidc_routes
    from app.modules.auth.oidc.federation import federation

    fed = federation() if keycloak_enabled() else None
    if fed is None:
        return redirect(url_for("web.sign_in"), code=303)
    outcome = call(
        oidc_routes.sign_in_social, endpoint_name="auth.sign_in_social",
        body={"provider": fed.provider_id, "callbackURL": safe_next(request.form.get("next")),
              "errorCallbackURL": url_for("web.sign_in"), "disableRedirect": True},
    )
    if not outcome.ok:
        flash("The sign-in service cannot be reached right now. Try again in a moment.", "error")
        return redirect(url_for("web.sign_in"), code=303)
    return _go(outcome, str(outcome.data["url"]))


@bp.route("/sign-up", methods=["GET", "POST"])
@requires_auth_module
def sign_up() -> ResponseReturnValue:
    form = SignUpForm()
    error = None
    if form.validate_on_submit():
        outcome = call(
            email_password.sign_up, endpoint_name="auth.sign_up",
            body={"name": form.name.data, "email": form.email.data, "password": form.password.data,
                  "callbackURL": url_for("web.email_verified")},
        )
        if outcome.ok and outcome.data.get("token"):
            return _signed_in(outcome, url_for("web.index"))
        if outcome.ok:
            session["web.verify_email"] = form.email.data
            return _go(outcome, url_for("web.verify_email_sent"))
        error = show_errors(form, outcome, {**PASSWORD_ERRORS, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL": "email"})
    return render_template("web/sign_up.html", form=form, error=error)


@bp.post("/sign-out")
@requires_auth_module
def sign_out() -> ResponseReturnValue:
    outcome = call(email_password.sign_out, endpoint_name="auth.sign_out", body={})
    renew()
    session.clear()
    return _go(outcome, url_for("web.index"))


@bp.route("/verify-email/sent", methods=["GET", "POST"])
@requires_auth_module
def verify_email_sent() -> ResponseReturnValue:
    """"Check your inbox", with a form to mail the link again (same answer for any address)."""
    form = EmailForm()
    if request.method == "GET":
        form.email.data = session.get("web.verify_email")
    if form.validate_on_submit():
        outcome = call(
            verification.send_verification_email, endpoint_name="auth.send_verification_email",
            body={"email": form.email.data, "callbackURL": url_for("web.email_verified")},
        )
        if outcome.ok:
            flash("If that address has an account waiting for verification, a new link is on its way.", "info")
            return redirect(url_for("web.verify_email_sent"), code=303)
        show_errors(form, outcome, {"EMAIL_MISMATCH": "email"})
    return render_template("web/verify_email_sent.html", form=form)


@bp.get("/verify-email/done")
@requires_auth_module
def email_verified() -> ResponseReturnValue:
    """Where the mailed verification link lands (through the API's ``/verify-email``)."""
    problem = _LINK_ERRORS.get(request.args.get("error", ""), "") if request.args.get("error") else ""
    return render_template("web/email_verified.html", problem=problem)


_LINK_ERRORS = {
    "TOKEN_EXPIRED": "This link has expired. Ask for a new one.",
    "INVALID_TOKEN": "This link is not valid. Ask for a new one.",
    "USER_NOT_FOUND": "This link is no longer valid: the address it was sent to has changed.",
    "USER_ALREADY_EXISTS": "Another account already uses that address.",
}


@bp.route("/forgot-password", methods=["GET", "POST"])
@requires_auth_module
def forgot_password() -> ResponseReturnValue:
    form = EmailForm()
    if form.validate_on_submit():
        outcome = call(
            verification.request_password_reset, endpoint_name="auth.request_password_reset",
            body={"email": form.email.data, "redirectTo": url_for("web.reset_password")},
        )
        if outcome.ok:
            return render_template("web/forgot_password_sent.html", email=form.email.data)
        show_errors(form, outcome)
    return render_template("web/forgot_password.html", form=form)


@bp.route("/reset-password", methods=["GET", "POST"])
@requires_auth_module
def reset_password() -> ResponseReturnValue:
    """Where the mailed reset link lands (the API checked the token and appended it, or ``error``)."""
    form = ResetPasswordForm()
    error: str | None = None
    if request.method == "GET":
        form.token.data = request.args.get("token", "")
        if request.args.get("error") or not form.token.data:
            error = _LINK_ERRORS["INVALID_TOKEN"]
    if form.validate_on_submit():
        outcome = call(
            verification.reset_password, endpoint_name="auth.reset_password",
            body={"newPassword": form.new_password.data, "token": form.token.data},
        )
        if outcome.ok:
            flash("Your password is changed and every session of your account has ended. Sign in again.", "info")
            return _go(outcome, url_for("web.sign_in"))
        error = show_errors(form, outcome, {"PASSWORD_TOO_SHORT": "new_password", "PASSWORD_TOO_LONG": "new_password"})
        if outcome.code == "INVALID_TOKEN":
            error = _LINK_ERRORS["INVALID_TOKEN"]
    return render_template("web/reset_password.html", form=form, error=error, token_ok=not error)
