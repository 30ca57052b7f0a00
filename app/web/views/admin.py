"""Administration: users (search, pages, create), and per user: ban/unban, role, password,
sessions, impersonation (and its stop, from the banner every page shows meanwhile).

Who may see these pages is the admin plugin's own rule: each view calls the admin API's function,
which refuses (403) anyone its access control refuses; the page shows that refusal."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.modules.auth.admin import routes_sessions as admin_sessions
from app.modules.auth.admin import routes_users as users_api
from app.web import bp
from app.web.calls import Outcome, call, carry_cookies
from app.web.context import login_required
from app.web.forms import ActionForm, AdminCreateUserForm, BanForm, RoleForm, SetPasswordForm, show_errors

PAGE_SIZE = 20


def _refused(outcome: Outcome) -> ResponseReturnValue:
    if outcome.error is not None and outcome.error.status in (401, 403):
        abort(403)
    abort(404)


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def admin_users() -> ResponseReturnValue:
    search = (request.args.get("q") or "").strip()[:255]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    form = AdminCreateUserForm()
    if form.validate_on_submit():
        created = call(users_api.create_user, endpoint_name="auth.admin_create_user",
                       body={"name": form.name.data, "email": form.email.data, "password": form.password.data,
                             "role": form.role.data or None})
        if created.ok:
            flash(f"{created.data['user']['email']} can now sign in.", "info")
            return redirect(url_for("web.admin_user", user_id=created.data["user"]["id"]), code=303)
        if created.error is not None and created.error.status == 403:
            abort(403)
        show_errors(form, created, {"USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL": "email", "PASSWORD_TOO_SHORT": "password",
                                    "PASSWORD_TOO_LONG": "password"})
        if created.code and not any(f.errors for f in form):
            form.role.errors = [created.message]
    query: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE, "sortBy": "createdAt",
                             "sortDirection": "desc"}
    if search:
        query.update(searchValue=search, searchField="email" if "@" in search else "name")
    listed = call(users_api.list_users, query=query)
    if not listed.ok:
        return _refused(listed)
    total = int(listed.data["total"])
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("web/admin_users.html", users=listed.data["users"], total=total, page=page, pages=pages,
                           search=search, form=form), (200 if request.method == "GET" else 400)


def _user(user_id: str) -> dict[str, Any]:
    found = call(users_api.get_user, query={"id": user_id})
    if not found.ok:
        _refused(found)
    user: dict[str, Any] = found.data
    return user


@bp.get("/admin/users/<user_id>")
@login_required
def admin_user(user_id: str) -> ResponseReturnValue:
    user = _user(user_id)
    sessions = call(admin_sessions.list_user_sessions, body={"userId": user_id})
    return render_template("web/admin_user.html", subject=user, sessions=sessions.data["sessions"] if sessions.ok
                           else [], ban=BanForm(prefix="ban"), role=RoleForm(prefix="role", role=user.get("role")),
                           password=SetPasswordForm(prefix="pw"))


def _back(user_id: str, outcome: Outcome, done: str) -> ResponseReturnValue:
    if outcome.error is not None and outcome.error.status == 403:
        abort(403)
    flash(done if outcome.ok else outcome.message, "info" if outcome.ok else "error")
    return redirect(url_for("web.admin_user", user_id=user_id), code=303)


@bp.post("/admin/users/<user_id>/ban")
@login_required
def admin_ban(user_id: str) -> ResponseReturnValue:
    form = BanForm(prefix="ban")
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("web.admin_user", user_id=user_id), code=303)
    days = form.expires_in_days.data
    outcome = call(users_api.ban_user, endpoint_name="auth.admin_ban_user",
                   body={"userId": user_id, "banReason": form.reason.data or None,
                         "banExpiresIn": days * 86400 if days else None})
    return _back(user_id, outcome, "The user is banned and signed out everywhere.")


@bp.post("/admin/users/<user_id>/unban")
@login_required
def admin_unban(user_id: str) -> ResponseReturnValue:
    outcome = call(users_api.unban_user, endpoint_name="auth.admin_unban_user", body={"userId": user_id})
    return _back(user_id, outcome, "The ban is lifted.")


@bp.post("/admin/users/<user_id>/role")
@login_required
def admin_set_role(user_id: str) -> ResponseReturnValue:
    form = RoleForm(prefix="role")
    roles = [r.strip() for r in (form.role.data or "").split(",") if r.strip()]
    outcome = call(users_api.set_role, endpoint_name="auth.admin_set_role",
                   body={"userId": user_id, "role": roles[0] if len(roles) == 1 else roles})
    return _back(user_id, outcome, "The role is saved.")


@bp.post("/admin/users/<user_id>/password")
@login_required
def admin_set_password(user_id: str) -> ResponseReturnValue:
    form = SetPasswordForm(prefix="pw")
    outcome = call(users_api.set_user_password, endpoint_name="auth.admin_set_user_password",
                   body={"userId": user_id, "newPassword": form.new_password.data or ""})
    return _back(user_id, outcome, "The password is set; the user's sessions have ended.")


@bp.post("/admin/users/<user_id>/sessions/revoke")
@login_required
def admin_revoke_session(user_id: str) -> ResponseReturnValue:
    form = ActionForm()
    if form.target.data == "all":
        outcome = call(admin_sessions.revoke_user_sessions_route, endpoint_name="auth.admin_revoke_user_sessions",
                       body={"userId": user_id})
        return _back(user_id, outcome, "Every session of the user has ended.")
    outcome = call(admin_sessions.revoke_user_session, endpoint_name="auth.admin_revoke_user_session",
                   body={"sessionToken": form.target.data or ""})
    return _back(user_id, outcome, "The session has ended.")


@bp.post("/admin/users/<user_id>/impersonate")
@login_required
def admin_impersonate(user_id: str) -> ResponseReturnValue:
    outcome = call(admin_sessions.impersonate_user, endpoint_name="auth.admin_impersonate_user",
                   body={"userId": user_id})
    if not outcome.ok:
        return _back(user_id, outcome, "")
    return carry_cookies(outcome.response, redirect(url_for("web.index"), code=303))


@bp.post("/admin/stop-impersonating")
@login_required
def admin_stop_impersonating() -> ResponseReturnValue:
    outcome = call(admin_sessions.stop_impersonating, endpoint_name="auth.admin_stop_impersonating")
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("web.index"), code=303)
    flash("You are yourself again.", "info")
    return carry_cookies(outcome.response, redirect(url_for("web.admin_users"), code=303))
