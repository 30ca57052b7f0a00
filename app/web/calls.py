"""Run a JSON route's logic in-process for a page: the same function, no HTTP round trip.

The auth API's views are ``@endpoint``-wrapped functions whose undecorated body (``__wrapped__``)
takes a validated pydantic model. A page validates its form into that same model and calls the
function directly, so every rule (password length, lockout, the two-factor hook, audit entries) is
the API's own, written once. What the function answers is then translated for the page:

- its JSON body becomes :attr:`Outcome.data`, an :class:`ApiError` becomes :attr:`Outcome.error`;
- the cookies it set (the better-auth session, the two-factor challenge, a trusted device) are
  copied onto the page's response with :func:`carry_cookies`;
- ``after_this_request`` callbacks it registered run on *its* response (as they would on the API),
  not on the page's redirect.

The API's rate limits apply too: the call counts against the limiter under the API's path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, json, url_for
from flask.globals import request_ctx
from pydantic import BaseModel, ValidationError
from werkzeug.wrappers import Response as BaseResponse

from app.core.errors import ApiError
from app.core.proxies import unproxied


@dataclass
class Outcome:
    """What a route answered: ``data`` on success, ``error`` (code, message, status) otherwise."""

    response: BaseResponse
    data: Any = None
    error: ApiError | None = None
    #: Field name -> message, for input the model refused (shown next to the field).
    field_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.response.status_code < 400

    @property
    def message(self) -> str:
        return self.error.message if self.error is not None else ""

    @property
    def code(self) -> str:
        return self.error.code if self.error is not None else ""


def _error_response(error: ApiError) -> Response:
    response = current_app.response_class(
        json.dumps({"code": error.code, "message": error.message}), status=error.status, mimetype="application/json"
    )
    return response


def _field_messages(error: ValidationError, model: type[BaseModel]) -> dict[str, str]:
    """Pydantic's refusals in plain words, keyed by the form field (the model's Python name)."""
    aliases = {info.alias or name: name for name, info in model.model_fields.items()}
    messages: dict[str, str] = {}
    for detail in error.errors():
        loc = str(detail["loc"][0]) if detail["loc"] else ""
        name = aliases.get(loc, loc)
        text = str(detail["msg"]).removeprefix("Value error, ")
        messages.setdefault(name, text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
    return messages


def _count(endpoint_name: str, view_args: Mapping[str, Any]) -> None:
    """Count the call against the API's rate limit for that path (429 raised as ApiError)."""
    from app.modules.auth.client_ip import rate_limit_key_ip

    state = current_app.extensions.get("auth")
    limiter = state.rate_limiter if state is not None else None
    if limiter is not None:
        limiter.hit(url_for(endpoint_name, **view_args), rate_limit_key_ip(g.get("client_ip") or ""))


def call(
    view: Callable[..., Any],
    *,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    endpoint_name: str | None = None,
    **view_args: Any,
) -> Outcome:
    """Call the JSON route ``view`` with ``body``/``query`` (by alias or field name) and ``view_args``."""
    from app.core.api import operation_of

    operation = operation_of(view)
    target: Callable[..., Any] = view  # guards run; @endpoint takes the models validated here
    kwargs: dict[str, Any] = dict(view_args)
    ctx = unproxied(request_ctx)
    hooks_before = len(ctx._after_request_functions)
    try:
        if endpoint_name is not None:
            _count(endpoint_name, view_args)
        for name, values in (("body", body), ("query", query)):
            model = getattr(operation, name, None) if operation is not None else None
            if model is None:
                continue
            try:
                kwargs[name] = model.model_validate(dict(values or {}))
            except ValidationError as invalid:
                failure = ApiError(400, "VALIDATION_ERROR", "Check the highlighted fields.")
                return Outcome(
                    _error_response(failure), error=failure, field_errors=_field_messages(invalid, model)
                )
        response: BaseResponse = current_app.make_response(target(**kwargs))
        refusal: ApiError | None = None
    except ApiError as raised:
        from app.extensions import db

        db.session.rollback()
        response, refusal = _error_response(raised), raised
    hooks = ctx._after_request_functions[hooks_before:]
    del ctx._after_request_functions[hooks_before:]
    for hook in hooks:  # the route's own after_this_request callbacks finish *its* response
        response = current_app.ensure_sync(hook)(response)  # as Flask's own process_response calls them
    data = response.get_json(silent=True) if response.mimetype == "application/json" else None
    return Outcome(response=response, data=data, error=refusal)


def carry_cookies(source: BaseResponse, target: BaseResponse) -> BaseResponse:
    """Copy the ``Set-Cookie`` headers a route set onto the page's response."""
    for value in source.headers.getlist("Set-Cookie"):
        target.headers.add("Set-Cookie", value)
    return target
