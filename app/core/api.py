"""Declaring API endpoints: one decorator validates the request and documents the route.

``@endpoint(body=SignUpBody, response=SignUpResponse, ...)`` parses the body (JSON or form) or the
query string with the same pydantic model that the OpenAPI document is generated from, so the
document cannot drift from what the server accepts. Invalid input is answered 400
``VALIDATION_ERROR`` with better-auth's ``[body.field] message`` text.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, TypeVar, cast

from flask import request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core import bounded_json
from app.core.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])

#: Longest string accepted in any field not given a tighter limit.
DEFAULT_MAX_STRING = 10_000


#: Largest offset a list endpoint accepts: beyond any table here, and inside every database's integers.
MAX_OFFSET = 2**31 - 1
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


def _refuse_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_nul(item)


class ApiModel(BaseModel):
    """Base of request and response schemas: unknown fields are ignored, strings are bounded and
    free of NUL characters (PostgreSQL text cannot hold them; SQLite would, so both refuse)."""

    model_config = ConfigDict(extra="ignore", str_max_length=DEFAULT_MAX_STRING, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _refuse_nul(data)
        return data


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one view."""

    summary: str
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    responses: Mapping[int, str] = field(default_factory=dict)
    description: str | None = None
    content_type: str = "application/json"
    #: The success status (201 for a creation).
    status: int = 200


_EXPECTED = {
    "string": "string", "int": "number", "float": "number", "bool": "boolean", "dict": "record",
    "list": "array", "model": "object", "datetime": "date",
}


def _received(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return "string"


def _zod_type(annotation: Any) -> str:
    """zod's name for a type: a mapping is a ``z.record`` ("record"), a nested model a ``z.object``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _zod_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [_zod_type(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
        return kinds[0] if kinds else "string"
    if origin is not None and isinstance(origin, type):
        annotation = origin
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object"
        for kind, label in ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number"),
                            (dict, "record"), (list, "array"), (tuple, "array")):
            if issubclass(annotation, kind):
                return label
    return "string"


def _expected_of(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """What zod would name as expected for a missing field: from the model's annotation."""
    field = model.model_fields.get(str(loc[0])) if model is not None and loc else None
    if field is None and model is not None and loc:
        field = next((f for f in model.model_fields.values() if f.alias == str(loc[0])), None)
    return _zod_type(field.annotation) if field is not None else "string"


def _issue(detail: Any, model: type[BaseModel] | None) -> str:
    """One issue in zod's words, as better-auth's clients show them."""
    kind: str = detail["type"]
    if kind == "missing":
        return f"Invalid input: expected {_expected_of(model, detail['loc'])}, received undefined"
    base = kind.removesuffix("_type").removesuffix("_parsing")
    if base in _EXPECTED and (kind.endswith("_type") or kind.endswith("_parsing")):
        return f"Invalid input: expected {_EXPECTED[base]}, received {_received(detail.get('input'))}"
    message: str = detail["msg"]
    return message.removeprefix("Value error, ")


def validation_error(error: ValidationError, where: str, model: type[BaseModel] | None = None) -> ApiError:
    """better-auth's VALIDATION_ERROR: every issue as ``[body.field] message``, joined by ``; ``."""
    issues = []
    for detail in error.errors():
        loc = ".".join(str(part) for part in detail["loc"])
        prefix = f"[{where}.{loc}]" if loc else f"[{where}]"
        issues.append(f"{prefix} {_issue(detail, model)}")
    return ApiError(400, "VALIDATION_ERROR", "; ".join(issues))


def _read_body() -> dict[str, Any]:
    mimetype = request.mimetype
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if mimetype not in ("application/json", "") and not mimetype.endswith("+json"):
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f'Content-Type "{mimetype}" is not allowed. Allowed types: application/x-www-form-urlencoded, '
            "application/json",
        )
    try:
        data = bounded_json.loads(raw)
    except bounded_json.JsonBoundsError as error:
        raise ApiError(400, "VALIDATION_ERROR", f"[body] {error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "BAD_REQUEST", "Invalid JSON in request body") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "VALIDATION_ERROR", "[body] Invalid input: expected object")
    return data


def parse_body(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(_read_body())
    except ValidationError as error:
        raise validation_error(error, "body", model) from None


def parse_query(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise validation_error(error, "query", model) from None


def endpoint(
    *,
    summary: str,
    tags: Sequence[str] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    responses: Mapping[int, str] | None = None,
    description: str | None = None,
    content_type: str = "application/json",
    status: int = 200,
) -> Callable[[F], F]:
    """Validate ``body``/``query`` into keyword arguments of the same names, and document the view.

    Whether the operation needs a signed-in caller is not said here: the view's guards say it
    (:func:`requires_identity`), and the document follows them."""
    operation = Operation(
        summary=summary,
        tags=tuple(tags),
        body=body,
        query=query,
        response=response,
        responses=dict(responses or {}),
        description=description,
        content_type=content_type,
        status=status,
    )

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Already-validated models are taken as given: the server-rendered pages call routes as
            # functions (app/web/calls.py), through the guards above this decorator.
            if body is not None and "body" not in kwargs:
                kwargs["body"] = parse_body(body)
            if query is not None and "query" not in kwargs:
                kwargs["query"] = parse_query(query)
            return view(*args, **kwargs)

        setattr(wrapper, OPERATION_ATTRIBUTE, operation)
        return cast(F, wrapper)

    return decorator


#: The attribute on a view holding its :class:`Operation`.
OPERATION_ATTRIBUTE = "openapi_operation"
#: The attribute on a view holding its guards' kinds, outermost last (``functools.wraps`` carries it
#: through every decorator layer, ``@endpoint``'s too).
GUARDS_ATTRIBUTE = "access_guards"
#: Guard kinds that refuse an anonymous caller (401): they put ``security`` in the document.
IDENTITY_GUARDS = frozenset({"auth", "role", "permission", "session"})


def guards_of(view: Callable[..., Any]) -> tuple[str, ...]:
    """The kinds of the guards on ``view`` ("auth", "role", "permission", "tenant", "session")."""
    found: tuple[str, ...] = tuple(getattr(view, GUARDS_ATTRIBUTE, ()))
    return found


def requires_identity(view: Callable[..., Any]) -> bool:
    """True when a guard on ``view`` answers 401 to an anonymous caller."""
    return any(kind in IDENTITY_GUARDS for kind in guards_of(view))


def mark_guard(wrapper: Callable[..., Any], view: Callable[..., Any], kind: str) -> None:
    """Record on ``wrapper`` that it guards ``view`` with a guard of ``kind``."""
    setattr(wrapper, GUARDS_ATTRIBUTE, (*guards_of(view), kind))


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found: Operation | None = getattr(view, OPERATION_ATTRIBUTE, None)
    return found
