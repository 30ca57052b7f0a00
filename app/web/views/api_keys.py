"""API keys: create (the key is shown once), list, rename or disable, revoke."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.modules.auth.api_key import routes as keys
from app.web import bp
from app.web.calls import call
from app.web.context import login_required
from app.web.forms import ActionForm, ApiKeyCreateForm, ApiKeyUpdateForm, show_errors


def _listed() -> list[dict[str, object]]:
    outcome = call(keys.list_, query={"sortBy": "createdAt", "sortDirection": "desc"})
    return list(outcome.data.get("apiKeys", [])) if outcome.ok else []


@bp.route("/account/api-keys", methods=["GET", "POST"])
@login_required
def api_keys() -> ResponseReturnValue:
    form = ApiKeyCreateForm()
    created = None
    if form.validate_on_submit():
        days = form.expires_in_days.data
        outcome = call(keys.create, endpoint_name="auth.create",
                       body={"name": form.name.data, "expiresIn": days * 86400 if days else None})
        if outcome.ok:
            created = outcome.data  # its "key" is shown on this response only (no-store), never again
            form = ApiKeyCreateForm(formdata=None)
        else:
            show_errors(form, outcome)
    status = 200 if request.method == "GET" or created or not form.errors else 400
    return render_template("web/api_keys.html", form=form, created=created, keys=_listed()), status


@bp.post("/account/api-keys/update")
@login_required
def api_key_update() -> ResponseReturnValue:
    form = ApiKeyUpdateForm()
    if form.validate_on_submit():
        outcome = call(keys.update, endpoint_name="auth.update",
                       body={"keyId": form.target.data, "name": form.name.data, "enabled": form.enabled.data})
        flash("The key is saved." if outcome.ok else outcome.message, "info" if outcome.ok else "error")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("web.api_keys"), code=303)


@bp.post("/account/api-keys/revoke")
@login_required
def api_key_revoke() -> ResponseReturnValue:
    form = ActionForm()
    outcome = call(keys.delete, endpoint_name="auth.delete", body={"keyId": form.target.data or ""})
    flash("The key is revoked: it stops working now." if outcome.ok else outcome.message,
          "info" if outcome.ok else "error")
    return redirect(url_for("web.api_keys"), code=303)
