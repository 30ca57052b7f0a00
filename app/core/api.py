"""Declaring API endpoints: one decorator validates the request and documents the route.

``@endpoint(body=SignUpBody, response=SignUpResponse, ...)`` parses the body (JSON or form) or the
query string with the same pydantic model that the OpenAPI document is generated from, so the
document cannot drift from what the server accepts. Invalid input is answered 400
``VALIDATION_ERROR`` with better-auth's ``[body.field] message`` text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, TypeVar, cast

from flask import request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    auth: bool = False
    description: str | None = None
    content_type: str = "application/json"


def validation_error(error: ValidationError, where: str) -> ApiError:
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    prefix = f"[{where}.{loc}]" if loc else f"[{where}]"
    return ApiError(400, "VALIDATION_ERROR", f"{prefix} {message}")


def _read_body() -> dict[str, Any]:
    mimetype = request.mimetype
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if mimetype not in ("application/json", "") and not mimetype.endswith("+json"):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type; send application/json")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "INVALID_JSON", "The request body is not valid JSON") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "VALIDATION_ERROR", "[body] Invalid input: expected object")
    return data


def parse_body(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(_read_body())
    except ValidationError as error:
        raise validation_error(error, "body") from None


def parse_query(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise validation_error(error, "query") from None


def endpoint(
    *,
    summary: str,
    tags: Sequence[str] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    responses: Mapping[int, str] | None = None,
    auth: bool = False,
    description: str | None = None,
    content_type: str = "application/json",
) -> Callable[[F], F]:
    """Validate ``body``/``query`` into keyword arguments of the same names, and document the view."""
    operation = Operation(
        summary=summary,
        tags=tuple(tags),
        body=body,
        query=query,
        response=response,
        responses=dict(responses or {}),
        auth=auth,
        description=description,
        content_type=content_type,
    )

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            return view(*args, **kwargs)

        wrapper.openapi_operation = operation  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found: Operation | None = getattr(view, "openapi_operation", None)
    return found
