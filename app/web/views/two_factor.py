"""Two-factor setup: the QR code (drawn server-side with segno), backup codes shown once, the
verification that turns it on, new backup codes, and turning it off."""

from __future__ import annotations

from typing import Any

import segno
from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from app.modules.auth.two_factor import routes as tf
from app.web import bp
from app.web.calls import call, carry_cookies
from app.web.context import current_session, login_required
from app.web.forms import PasswordForm, TotpForm, show_errors

#: The pending setup (otpauth URI, backup codes) in the server-side Flask session, until verified.
PENDING = "web.two_factor_setup"


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as inline SVG markup (no data: URL, no script: fits the pages' CSP)."""
    code = segno.make(uri, error="m")
    svg = code.svg_inline(scale=5, dark="#111", light="#fff", title="QR code of your two-factor secret")
    return Markup(svg)  # noqa: S704 - segno's own SVG output, no user markup in it


def secret_of(uri: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(uri).query).get("secret", [""])[0]


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> ResponseReturnValue:
    enabled = bool(current_session().user.get("twoFactorEnabled"))
    form = PasswordForm()
    if not enabled and form.validate_on_submit():
        outcome = call(tf.enable, endpoint_name="auth.two_factor_enable", body={"password": form.password.data})
        if outcome.ok:
            session[PENDING] = {"uri": outcome.data["totpURI"], "codes": outcome.data["backupCodes"],
                                "user": current_session().user.get("id")}
            return redirect(url_for("web.two_factor_setup"), code=303)
        _password_error(form, outcome)
    return render_template("web/two_factor.html", form=form, enabled=enabled,
                           regenerate=PasswordForm(prefix="regen"), disable=PasswordForm(prefix="off"))


def _password_error(form: PasswordForm, outcome: Any) -> None:
    if outcome.code == "INVALID_PASSWORD":
        form.password.errors = ["That is not your password."]
    else:
        form.password.errors = [outcome.message]


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup() -> ResponseReturnValue:
    pending: dict[str, Any] | None = session.get(PENDING)
    if pending and pending.get("user") != current_session().user.get("id"):
        session.pop(PENDING, None)  # another user's setup (a shared browser): never shown to this one
        pending = None
    if not pending:
        return redirect(url_for("web.two_factor"), code=303)
    form = TotpForm()
    if form.validate_on_submit():
        outcome = call(tf.verify_totp, endpoint_name="auth.two_factor_verify_totp",
                       body={"code": (form.code.data or "").strip()})
        if outcome.ok:
            session.pop(PENDING, None)  # the backup codes were shown; they are never shown again
            flash("Two-factor sign-in is on. Keep your backup codes somewhere safe.", "info")
            return carry_cookies(outcome.response, redirect(url_for("web.two_factor"), code=303))
        show_errors(form, outcome)
        form.code.errors = ["That code is not right. Check the time on your device and try the next code."]
    return render_template("web/two_factor_setup.html", form=form, qr=qr_svg(pending["uri"]),
                           secret=secret_of(pending["uri"]), uri=pending["uri"], codes=pending["codes"])


@bp.post("/account/two-factor/backup-codes")
@login_required
def two_factor_regenerate() -> ResponseReturnValue:
    form = PasswordForm(prefix="regen")
    if form.validate_on_submit():
        outcome = call(tf.generate_backup_codes, endpoint_name="auth.two_factor_generate_backup_codes",
                       body={"password": form.password.data})
        if outcome.ok:  # shown on this response only: the page is never cached (no-store)
            return render_template("web/backup_codes.html", codes=outcome.data["backupCodes"])
        _password_error(form, outcome)
    return render_template("web/two_factor.html", form=PasswordForm(), enabled=True, regenerate=form,
                           disable=PasswordForm(prefix="off")), 400


@bp.post("/account/two-factor/disable")
@login_required
def two_factor_disable() -> ResponseReturnValue:
    form = PasswordForm(prefix="off")
    if form.validate_on_submit():
        outcome = call(tf.disable, endpoint_name="auth.two_factor_disable", body={"password": form.password.data})
        if outcome.ok:
            flash("Two-factor sign-in is off.", "info")
            return carry_cookies(outcome.response, redirect(url_for("web.two_factor"), code=303))
        _password_error(form, outcome)
    return render_template("web/two_factor.html", form=PasswordForm(), enabled=True,
                           regenerate=PasswordForm(prefix="regen"), disable=form), 400
