"""One JSON error envelope for the whole API: ``{"code": "UPPER_SNAKE", "message": "..."}``.

better-auth's clients read ``code``, so every error under ``/api/`` carries one, whatever raised
it: an :class:`ApiError`, a werkzeug ``HTTPException`` or an unexpected exception (500, logged with
the request id, never a traceback in the response).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

log = logging.getLogger(__name__)

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
    413: "Request body is too large",
    415: "Unsupported media type; send application/json",
    500: "Internal server error",
}


class ApiError(Exception):
    """An error the API answers on purpose, in better-auth's envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def code_for_status(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    return "CLIENT_ERROR" if status < 500 else "SERVER_ERROR"


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = dict(details)
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _message(error: HTTPException) -> str:
    status = error.code or 500
    if status in _MESSAGES:
        return _MESSAGES[status]
    text = error.description or error.name
    return re.sub(r"\s+", " ", str(text)).strip()


def _handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, details=error.details, headers=error.headers)


def _handle_http(error: HTTPException) -> Response | HTTPException:
    if not _wants_json():
        return error
    status = error.code or 500
    response = error_response(status, code_for_status(status), _message(error))
    if isinstance(error, MethodNotAllowed) and error.valid_methods:  # RFC 9110 §15.5.6: Allow on a 405
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _handle_unexpected(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not _wants_json():
        return "Internal server error", 500
    return error_response(500, "INTERNAL_SERVER_ERROR", _MESSAGES[500])


def reject_oversized_body() -> None:
    """Answer 413 from the declared length, before any view reads (or ignores) the body."""
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


#: C0 control characters and DEL: never part of an identifier, a slug, a URL or a search term.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest path parameter (every id, slug and provider id here is far shorter; columns hold 255).
MAX_PATH_PARAMETER = 255


def _refuse_control_characters_in_url() -> Response | None:
    """Identifiers in the path and values in the query are checked before any view runs (OWASP
    Input Validation Cheat Sheet): a NUL cannot be compared by PostgreSQL, a CR or LF would reach a
    ``Location`` header (CWE-113) and werkzeug refuses it with a 500, so all C0 controls are 400."""
    if _CONTROL.search(request.path) or any(
        _CONTROL.search(key) or _CONTROL.search(value) for key, value in request.args.items(multi=True)
    ):
        return error_response(400, "VALIDATION_ERROR", "Control characters are not allowed in the URL")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and not 0 < len(value) <= MAX_PATH_PARAMETER:
            return error_response(
                400, "VALIDATION_ERROR", f"[path.{name}] must be 1 to {MAX_PATH_PARAMETER} characters"
            )
    return None


def _handle_data_error(error: DataError) -> Response | tuple[str, int]:
    """The database refused a value the validation let through (out of range, bad encoding):
    the caller's input, so 400, and the session is rolled back for whatever runs next."""
    from app.extensions import db

    db.session.rollback()
    log.warning("database refused a value on %s %s: %s", request.method, request.path, error.orig)
    if not _wants_json():
        return "Bad request", 400
    return error_response(400, "INVALID_INPUT", "A value is outside what the server can store")


def register_error_handlers(app: Flask) -> None:
    app.before_request(reject_oversized_body)
    app.before_request(_refuse_control_characters_in_url)
    app.register_error_handler(DataError, _handle_data_error)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
