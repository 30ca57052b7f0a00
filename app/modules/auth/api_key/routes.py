"""better-auth's api-key routes under ``/api/v1/auth/api-key/*`` (reference §11).

Managing keys needs a real session (cookie or bearer session token): a key cannot mint, widen or
list keys, so a leaked key cannot outlive its revocation or escape its permissions.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from app.core.api import endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.modules import audit_logger
from app.modules.auth.api_key import schemas as s
from app.modules.auth.api_key import usage
from app.modules.auth.api_key.errors import api_key_error
from app.modules.auth.api_key.keys import key_json
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.api_key.org import check_org_permission, is_org_member
from app.modules.auth.api_key.service import (
    KeyFields,
    create_api_key,
    delete_api_key,
    find_key,
    list_keys,
    update_api_key,
)
from app.modules.auth.api_key.settings import api_key_settings
from app.modules.auth.identity import resolve_identity
from app.modules.auth.routes.common import bp, json_response, session_guard
from app.modules.auth.sessions import ResolvedSession

TAGS = ["API keys"]
_SORT_COLUMNS: dict[str, Any] = {
    "createdAt": ApiKey.created_at, "updatedAt": ApiKey.updated_at, "name": ApiKey.name,
    "expiresAt": ApiKey.expires_at, "lastRequest": ApiKey.last_request, "enabled": ApiKey.enabled,
    "remaining": ApiKey.remaining, "requestCount": ApiKey.request_count, "id": ApiKey.id,
    "start": ApiKey.start, "prefix": ApiKey.prefix,
}


def _session(missing: str = "UNAUTHORIZED_SESSION") -> ResolvedSession:
    """The caller's session; without one, ``missing`` (get and list sit behind better-auth's
    sessionMiddleware, whose answer is the core ``UNAUTHORIZED``)."""
    resolved = resolve_identity()
    if resolved is None:
        identity = current()
        if identity.error is not None and identity.user is None:
            raise identity.error
        if missing == "UNAUTHORIZED":
            raise ApiError(401, "UNAUTHORIZED", "Unauthorized")
        raise api_key_error(missing)
    return resolved


def _fields(body: s._KeyBody, names: tuple[str, ...]) -> KeyFields:
    given = body.model_fields_set
    return KeyFields(**{name: getattr(body, name) for name in names if name in given})


def _refuse_server_only(body: s._KeyBody, *, remaining_null_ok: bool) -> None:
    given = body.model_fields_set
    for name in s.SERVER_ONLY:
        if name not in given:
            continue
        if name == "remaining" and remaining_null_ok and body.remaining is None:
            continue
        raise api_key_error("SERVER_ONLY_PROPERTY")
    if "user_id" in given:
        raise api_key_error("UNAUTHORIZED_SESSION")


def _is_org_key(row: ApiKey) -> bool:
    return row.config_id == api_key_settings().organization_config_id


def _owned_key(key_id: str, config_id: str | None, user_id: str, action: str) -> ApiKey:
    """The key when the caller may ``action`` it; 404 ``KEY_NOT_FOUND`` for someone else's."""
    row = find_key(key_id)
    if row is None or (config_id and config_id != "default" and config_id != row.config_id):
        raise api_key_error("KEY_NOT_FOUND")
    if _is_org_key(row):
        if not is_org_member(user_id, row.reference_id):  # another organization's key: as an unknown one
            raise api_key_error("KEY_NOT_FOUND")
        check_org_permission(user_id, row.reference_id, action)
    elif row.reference_id != user_id:
        raise api_key_error("KEY_NOT_FOUND")
    return row


def _json(row: ApiKey, plaintext: str | None = None) -> dict[str, Any]:
    counters = usage.shown_counters([row]).get(row.id)
    body = key_json(row, plaintext=plaintext, counters=counters)
    body["remaining"] = usage.shown_remaining([row]).get(row.id, row.remaining)
    return body


@bp.post("/api-key/create")
@endpoint(summary="Create an API key (the plaintext key is in this answer only)", tags=TAGS,
          body=s.CreateKeyBody, response=s.ApiKeyCreated,
          responses={400: "Invalid field or server-only property", 401: "No session",
                     403: "Not allowed for this organization"})
@session_guard(check=lambda **_: _session())
def create(body: s.CreateKeyBody) -> ResponseReturnValue:
    resolved = _session()
    _refuse_server_only(body, remaining_null_ok=True)
    config_id = "default"
    reference_id = resolved.user_id
    if body.organization_id:
        check_org_permission(resolved.user_id, body.organization_id, "create")
        config_id = api_key_settings().organization_config_id
        reference_id = body.organization_id
    elif body.config_id == api_key_settings().organization_config_id:
        raise api_key_error("ORGANIZATION_ID_REQUIRED")
    fields = _fields(body, ("name", "prefix", "expires_in", "metadata"))
    row, plaintext = create_api_key(reference_id, fields, config_id=config_id)
    audit_logger.log_async(actor_id=resolved.user_id, action="api_key.create", resource_type="api_key",
                           resource_id=row.id, details={"name": row.name, "start": row.start},
                           organization_id=body.organization_id)
    return json_response(key_json(row, plaintext=plaintext))


@bp.get("/api-key/get")
@endpoint(summary="One of the caller's API keys (never the key itself)", tags=TAGS, query=s.GetKeyQuery,
          response=s.ApiKeyOut, responses={404: "KEY_NOT_FOUND"})
@session_guard(check=lambda **_: _session("UNAUTHORIZED"))
def get(query: s.GetKeyQuery) -> ResponseReturnValue:
    resolved = _session("UNAUTHORIZED")
    row = _owned_key(query.id, query.config_id, resolved.user_id, "read")
    return json_response(_json(row))


@bp.get("/api-key/list")
@endpoint(summary="The caller's API keys, or an organization's with organizationId", tags=TAGS,
          query=s.ListKeysQuery, response=s.ApiKeyList)
@session_guard(check=lambda **_: _session("UNAUTHORIZED"))
def list_(query: s.ListKeysQuery) -> ResponseReturnValue:
    resolved = _session("UNAUTHORIZED")
    if query.organization_id:
        check_org_permission(resolved.user_id, query.organization_id, "read")
    rows, total = list_keys(
        query.organization_id or resolved.user_id,
        organization_keys=bool(query.organization_id),
        config_id=query.config_id,
        sort_column=_SORT_COLUMNS[query.sort_by or "createdAt"],
        descending=query.sort_direction == "desc",
        limit=query.limit,
        offset=query.offset,
    )
    counters = usage.shown_counters(rows)
    remaining = usage.shown_remaining(rows)
    keys = [key_json(row, counters=counters.get(row.id)) | {"remaining": remaining.get(row.id, row.remaining)}
            for row in rows]
    body: dict[str, Any] = {"apiKeys": keys, "total": total}
    if query.limit is not None:
        body["limit"] = query.limit
    if query.offset is not None:
        body["offset"] = query.offset
    return json_response(body)


@bp.post("/api-key/update")
@endpoint(summary="Rename, enable/disable, re-expire an API key", tags=TAGS, body=s.UpdateKeyBody,
          response=s.ApiKeyOut,
          responses={400: "NO_VALUES_TO_UPDATE or SERVER_ONLY_PROPERTY", 404: "KEY_NOT_FOUND"})
@session_guard(check=lambda **_: _session())
def update(body: s.UpdateKeyBody) -> ResponseReturnValue:
    resolved = _session()
    _refuse_server_only(body, remaining_null_ok=False)
    row = _owned_key(body.key_id, body.config_id, resolved.user_id, "update")
    fields = _fields(body, ("name", "enabled", "expires_in", "metadata"))
    row = update_api_key(row, fields)
    changed = sorted(name for name in ("name", "enabled", "expires_in", "metadata") if fields.given(name))
    audit_logger.log_async(actor_id=resolved.user_id, action="api_key.update", resource_type="api_key",
                           resource_id=row.id, details={"fields": changed},
                           organization_id=row.reference_id if _is_org_key(row) else None)
    return json_response(_json(row))


@bp.post("/api-key/delete")
@endpoint(summary="Delete an API key: it stops working at once", tags=TAGS, body=s.DeleteKeyBody,
          response=s.SuccessOut, responses={404: "KEY_NOT_FOUND"})
@session_guard(check=lambda **_: _session())
def delete(body: s.DeleteKeyBody) -> ResponseReturnValue:
    resolved = _session()
    row = _owned_key(body.key_id, body.config_id, resolved.user_id, "delete")
    organization_id = row.reference_id if _is_org_key(row) else None
    delete_api_key(row)
    audit_logger.log_async(actor_id=resolved.user_id, action="api_key.delete", resource_type="api_key",
                           resource_id=body.key_id, organization_id=organization_id)
    return json_response({"success": True})


