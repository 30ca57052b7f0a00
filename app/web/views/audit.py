"""The audit log viewer (only when the audit module is on): newest first, filters, next page.

Who reads what is the audit API's rule (platform admins: everything; ``audit:read`` in an
organization: that organization's entries), applied by calling its function."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from app.web import bp
from app.web.context import login_required

FILTERS = ("action", "actorId", "resourceType", "resourceId", "after", "before")
PAGE_SIZE = 50


def audit_enabled() -> bool:
    enabled: bool = current_app.config["SETTINGS"].modules.audit
    return enabled


@bp.get("/admin/audit")
@login_required
def audit_log() -> ResponseReturnValue:
    if not audit_enabled():
        abort(404)
    from app.modules.audit import api as audit_api
    from app.web.calls import call

    filters = {name: value.strip()[:255] for name in FILTERS if (value := request.args.get(name, ""))}
    query: dict[str, Any] = {**filters, "limit": PAGE_SIZE}
    if request.args.get("cursor"):
        query["cursor"] = request.args["cursor"][:200]
    listed = call(audit_api.list_entries, query=query)
    if listed.error is not None and listed.error.status in (401, 403):
        abort(403)
    problem = None
    if not listed.ok:
        problem = "Check the filters: " + (
            "; ".join(listed.field_errors.values()) if listed.field_errors else listed.message
        )
    data = listed.data if listed.ok else {"entries": [], "nextCursor": None}
    return render_template("web/audit.html", entries=data["entries"], next_cursor=data["nextCursor"],
                           filters=filters, problem=problem), (200 if listed.ok else 400)
