"""``GET /api/v1/audit``: reading the audit log.

Platform admins (role ``admin``) read every entry. Anyone else needs ``audit:read`` in their
current organization (a member role that grants it, or an API key that holds it) and reads that
organization's entries only, whatever filter they send (OWASP ASVS V4.2: no horizontal access).
The decisions are the guards' policy's, so this module imports nothing of the auth module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from app.core.api import ApiModel, endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.extensions import db
from app.modules.audit.query import Filters, InvalidCursor, encode_cursor, newest_first, to_json
from app.modules.guards import current_policy, require_auth

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")

MAX_LIMIT = 1000


class AuditQuery(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    actor_id: str | None = Field(default=None, max_length=255, description="Only entries by this actor")
    action: str | None = Field(default=None, max_length=128)
    resource_type: str | None = Field(default=None, max_length=128)
    resource_id: str | None = Field(default=None, max_length=255)
    organization_id: str | None = Field(default=None, max_length=255)
    after: datetime | None = Field(default=None, description="Entries created after this instant (ISO 8601)")
    before: datetime | None = Field(default=None, description="Entries created before this instant (ISO 8601)")
    cursor: str | None = Field(default=None, max_length=200, description="nextCursor of the previous page")
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)


class AuditEntryOut(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    id: int
    actor_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    details: dict[str, Any] | None
    organization_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    created_at: str
    prev_hash: str
    hash: str


class AuditPage(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last one")


def _readable_organization() -> str | None:
    """None: every organization (a platform admin); else the one organization the caller may read."""
    policy = current_policy()
    if policy.holds_role(("admin",)):
        return None
    policy.check_permissions({"audit": ["read"]})
    organization_id = current().organization()
    if not organization_id:
        raise ApiError(403, "FORBIDDEN", "Reading the audit log needs an organization (or the admin role)")
    return organization_id


@bp.get("")
@require_auth
@endpoint(
    summary="List audit entries, newest first",
    tags=["Audit"],
    query=AuditQuery,
    response=AuditPage,
    responses={403: "Neither a platform admin nor holding audit:read in the organization"},
)
def list_entries(query: AuditQuery) -> ResponseReturnValue:
    scope = _readable_organization()
    if scope is not None and query.organization_id not in (None, scope):
        return jsonify({"entries": [], "nextCursor": None})  # another organization: nothing of it
    filters = Filters(
        actor_id=query.actor_id,
        action=query.action,
        resource_type=query.resource_type,
        resource_id=query.resource_id,
        organization_id=scope if scope is not None else query.organization_id,
        after=query.after,
        before=query.before,
    )
    try:
        stmt = newest_first(filters, query.limit + 1, query.cursor)
    except InvalidCursor as error:
        raise ApiError(400, "INVALID_CURSOR", str(error)) from None
    rows = list(db.session.execute(stmt).mappings())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = encode_cursor(rows[-1]["id"]) if more and rows else None
    return jsonify({"entries": [to_json(row) for row in rows], "nextCursor": next_cursor})
