"""The OpenAPI 3.1 document, built with apispec from the routes' own validation schemas.

Every view declared with :func:`app.core.api.endpoint` contributes its operation; the request and
response schemas come from the same pydantic models that validate requests. Served at
``/api/v1/openapi.json`` (and by the auth module at better-auth's ``/open-api/generate-schema``).
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from apispec import APISpec
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.core.api import Operation, endpoint, operation_of

REF = "#/components/schemas/{model}"
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


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _schema_for(annotation: Any) -> dict[str, Any]:
    """A JSON schema for a response annotation: a model, ``list[Model]``, ``Model | None``, a dict."""
    if annotation is None:
        return {"type": "null"}
    if isinstance(annotation, dict):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"$ref": REF.format(model=annotation.__name__)}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return {"type": "array", "items": _schema_for(args[0])}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_for(None if a is type(None) else a) for a in args]}
    raise TypeError(f"cannot describe response type {annotation!r}")


def _parameters(model: type[BaseModel] | None, path_args: list[str]) -> list[dict[str, Any]]:
    params = [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}} for a in path_args]
    if model is not None:
        schema = model.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _operation(op: Operation, path: str, path_args: list[str], method: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"summary": op.summary, "tags": list(op.tags)}
    if op.description:
        spec["description"] = op.description
    params = _parameters(op.query, path_args)
    if params:
        spec["parameters"] = params
    if op.body is not None and method != "get":
        body_ref = {"$ref": REF.format(model=op.body.__name__)}
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": body_ref},
                "application/x-www-form-urlencoded": {"schema": body_ref},
            },
        }
    success: dict[str, Any] = {"description": "Success"}
    if op.content_type == "application/json":
        success["content"] = {"application/json": {"schema": _schema_for(op.response)}}
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
    if op.auth:
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
    if op.auth:
        spec["security"] = [{"cookie": []}, {"bearer": []}]
    return spec


def build_document(app: Flask) -> dict[str, Any]:
    settings = app.config["SETTINGS"]
    spec = APISpec(
        title=app.config.get("API_TITLE", "SaaS foundation API"),
        version=app.config.get("API_VERSION", "0.1.0"),
        openapi_version="3.1.0",
        info={"description": "Authentication, tenancy and audit; auth speaks better-auth's protocol."},
        servers=[{"url": settings.base_url}],
    )
    spec.components.security_scheme(
        "cookie", {"type": "apiKey", "in": "cookie", "name": "better-auth.session_token"}
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR_SCHEMA)

    operations: list[tuple[str, str, Operation, list[str]]] = []
    models: dict[str, type[BaseModel]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        path_args = _CONVERTER.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operations.append((path, method.lower(), op, path_args))
        for model in [op.body, op.query, *_models_in(op.response)]:
            if model is not None:
                models[model.__name__] = model

    if models:
        pairs = [(m, "validation") for m in models.values()]
        _, defs = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
        for name, schema in sorted(defs.get("$defs", {}).items()):
            spec.components.schema(name, schema)

    paths: dict[str, dict[str, Any]] = {}
    for path, method, op, path_args in operations:
        paths.setdefault(path, {})[method] = _operation(op, path, path_args, method)
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def document() -> dict[str, Any]:
    """The document for the current app, built once and kept (routes do not change after start)."""
    cached: dict[str, Any] | None = current_app.extensions.get("openapi_document")
    if cached is None:
        cached = build_document(current_app)
        current_app.extensions["openapi_document"] = cached
    return cached


@endpoint(summary="This OpenAPI document", tags=["Reference"], response={"type": "object"})
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())


def init_openapi(app: Flask) -> None:
    app.add_url_rule("/api/v1/openapi.json", "openapi", openapi_json, methods=["GET"])
