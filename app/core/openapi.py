"""The OpenAPI 3.1 document, built with apispec from the routes' own validation schemas.

Every view declared with :func:`app.core.api.endpoint` contributes its operation through
``APISpec.path``; the operations name their pydantic models, which the
:class:`~app.core.openapi_pydantic.PydanticPlugin` registers as components and turns into ``$ref``s
(the same models validate the requests). What stays hand-written here is better-auth's wire format:
its operationIds, its error body and the statuses the framework itself answers. Served at
``/api/v1/openapi.json`` (and by the auth module at better-auth's ``/open-api/generate-schema``).
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from app.core.api import Operation, endpoint, operation_of, requires_identity
from app.core.openapi_pydantic import REF, PydanticPlugin

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable error code (UPPER_SNAKE)"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
    "required": ["code", "message"],
}

#: Routes under this prefix are the auth module's: rate-limited, and origin-checked when they write.
AUTH_PREFIX = "/api/v1/auth/"

_STANDARD_ERRORS = {
    400: "Invalid input",
    401: "No identity",
    403: "Not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
}


AUTH_BASE = "/api/v1/auth"

#: better-auth 1.7's own operationIds, where it sets one (its openAPI plugin leaves about half
#: without); every other operation gets the camelCase of its path, the official client's method name.
BETTER_AUTH_OPERATION_IDS: dict[tuple[str, str], str] = {
    ("/sign-in/social", "post"): "socialSignIn",
    ("/get-session", "get"): "getSession",
    ("/get-session", "post"): "getSessionPost",
    ("/sign-out", "post"): "signOut",
    ("/sign-up/email", "post"): "signUpWithEmailAndPassword",
    ("/sign-in/email", "post"): "signInEmail",
    ("/reset-password", "post"): "resetPassword",
    ("/verify-password", "post"): "verifyPassword",
    ("/send-verification-email", "post"): "sendVerificationEmail",
    ("/change-email", "post"): "changeEmail",
    ("/change-password", "post"): "changePassword",
    ("/update-session", "post"): "updateSession",
    ("/update-user", "post"): "updateUser",
    ("/delete-user", "post"): "deleteUser",
    ("/request-password-reset", "post"): "requestPasswordReset",
    ("/reset-password/{token}", "get"): "resetPasswordCallback",
    ("/list-sessions", "get"): "listUserSessions",
    ("/link-social", "post"): "linkSocialAccount",
    ("/list-accounts", "get"): "listUserAccounts",
    ("/admin/set-role", "post"): "setUserRole",
    ("/admin/get-user", "get"): "getUser",
    ("/admin/create-user", "post"): "createUser",
    ("/admin/update-user", "post"): "adminUpdateUser",
    ("/admin/list-users", "get"): "listUsers",
    ("/admin/list-user-sessions", "post"): "adminListUserSessions",
    ("/admin/unban-user", "post"): "unbanUser",
    ("/admin/ban-user", "post"): "banUser",
    ("/admin/impersonate-user", "post"): "impersonateUser",
    ("/admin/revoke-user-session", "post"): "revokeUserSession",
    ("/admin/revoke-user-sessions", "post"): "revokeUserSessions",
    ("/admin/remove-user", "post"): "removeUser",
    ("/admin/set-user-password", "post"): "setUserPassword",
    ("/organization/set-active", "post"): "setActiveOrganization",
    ("/organization/get-organization", "get"): "getOrganization",
    ("/organization/get-full-organization", "get"): "getFullOrganization",
    ("/organization/invite-member", "post"): "createOrganizationInvitation",
    ("/organization/update-member-role", "post"): "updateOrganizationMemberRole",
    ("/jwks", "get"): "getJSONWebKeySet",
    ("/token", "get"): "getJSONWebToken",
}


def _camel(words: list[str]) -> str:
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return "".join(p if i == 0 else p[:1].upper() + p[1:] for i, p in enumerate(parts)) or "root"


def operation_id(path: str, method: str, endpoint: str) -> str:
    """The operationId of one operation: better-auth's for the auth API, else derived.

    Auth routes: better-auth's id, or the camelCase of the path relative to the auth base
    (``/organization/list-members`` -> ``organizationListMembers``, the client's method path).
    Application routes: the camelCase of the view's endpoint name (``api.list_projects`` -> ``listProjects``).
    """
    if path.startswith(AUTH_BASE + "/"):
        relative = path[len(AUTH_BASE) :]
        known = BETTER_AUTH_OPERATION_IDS.get((relative, method))
        return known or _camel([s for s in relative.split("/") if not s.startswith("{")])
    return _camel([endpoint.rsplit(".", 1)[-1]])


def _operation(op: Operation, path: str, path_args: list[str], method: str, secured: bool) -> dict[str, Any]:
    """One operation; ``secured`` (401 and ``security``) comes from the view's guards."""
    spec: dict[str, Any] = {"summary": op.summary, "tags": list(op.tags)}
    if op.description:
        spec["description"] = op.description
    # Models stay Python objects here: the PydanticPlugin resolves them when apispec adds the path.
    params: list[dict[str, Any]] = [
        {"name": a, "in": "path", "required": True, "schema": {"type": "string"}} for a in path_args
    ]
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if params:
        spec["parameters"] = params
    if op.body is not None and method != "get":
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": op.body},
                "application/x-www-form-urlencoded": {"schema": op.body},
            },
        }
    success: dict[str, Any] = {"description": "Success"}
    if op.content_type == "application/json":
        success["content"] = {"application/json": {"schema": op.response}}
    else:
        success["content"] = {op.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): success}
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    # Every status the framework itself may answer is documented (issue 14: the fuzzing test checks
    # that nothing undocumented comes back): 400 for bad input, including a path parameter with a
    # control character; 413/415 for bodies; 401 behind a guard; on the auth routes 429 (rate
    # limits) and, for writes, 403 (the origin check).
    wanted = {400: _STANDARD_ERRORS[400]} if (op.body or op.query or path_args) else {}
    if op.body is not None and method != "get":
        wanted[413] = _STANDARD_ERRORS[413]
        wanted[415] = _STANDARD_ERRORS[415]
    if secured:
        wanted[401] = _STANDARD_ERRORS[401]
    if path.startswith(AUTH_PREFIX):
        wanted[429] = _STANDARD_ERRORS[429]
        if method != "get":
            wanted[403] = _STANDARD_ERRORS[403]
    wanted.update(op.responses)
    for status, description in sorted(wanted.items()):
        if status in (301, 302, 303, 307):
            responses[str(status)] = {"description": description}
        else:
            responses[str(status)] = {"description": description, **error}
    spec["responses"] = responses
    if secured:
        spec["security"] = [{"cookie": []}, {"bearer": []}]
    return spec


def build_document(app: Flask, base: str = "") -> dict[str, Any]:
    """The document of every route under ``base`` (all of them when empty), paths relative to it
    and ``base`` in ``servers``, as better-auth serves its own under its base path."""
    settings = app.config["SETTINGS"]
    title = app.config.get("API_TITLE", "SaaS foundation API")
    spec = APISpec(
        title=f"{title}: auth" if base else title,
        version=app.config.get("API_VERSION", "0.1.0"),
        openapi_version="3.1.0",
        info={"description": "Authentication, tenancy and audit; auth speaks better-auth's protocol."},
        servers=[{"url": settings.base_url + base}],
        plugins=[PydanticPlugin()],
    )
    spec.components.security_scheme(
        "cookie", {"type": "apiKey", "in": "cookie", "name": "better-auth.session_token"}
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR_SCHEMA)

    operations: list[tuple[str, str, Operation, list[str], str]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None or (base and not rule.rule.startswith(base + "/")):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        path_args = _CONVERTER.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operations.append((path, method.lower(), op, path_args, rule.endpoint))

    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for path, method, op, path_args, endpoint_name in operations:
        spec_op = _operation(op, path, path_args, method, requires_identity(app.view_functions[endpoint_name]))
        wanted = operation_id(path, method, endpoint_name)
        unique, index = wanted, 1
        while unique in used:  # better-auth's rule for a clash: the method, then a number
            unique = f"{wanted}{method.capitalize()}{index if index > 1 else ''}"
            index += 1
        used.add(unique)
        spec_op["operationId"] = unique
        paths.setdefault(path[len(base) :] if base else path, {})[method] = spec_op
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def document(base: str = "") -> dict[str, Any]:
    """The document for the current app (or its routes under ``base``), built once and kept
    (routes do not change after start)."""
    key = f"openapi_document:{base}"
    cached: dict[str, Any] | None = current_app.extensions.get(key)
    if cached is None:
        cached = build_document(current_app, base)
        current_app.extensions[key] = cached
    return cached


@endpoint(summary="This OpenAPI document", tags=["Reference"], response={"type": "object"})
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())


def init_openapi(app: Flask) -> None:
    app.add_url_rule("/api/v1/openapi.json", "openapi", openapi_json, methods=["GET"])
