"""What the auth routes share: the blueprint, the session requirement, responses that carry a session."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast, overload

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.wrappers import Response as BaseResponse

from app.core.api import mark_guard
from app.core.errors import ApiError
from app.core.identity import current, is_bound
from app.modules.auth.cookies import (
    SESSION_TOKEN,
    clear_session_cookies,
    cookie_name,
    read_signed_cookie,
    set_session_cookie,
)
from app.modules.auth.identity import raise_if_unavailable, resolve_identity
from app.modules.auth.models import User
from app.modules.auth.passwords import PasswordHasher
from app.modules.auth.protection import protect
from app.modules.auth.serializers import user_json
from app.modules.auth.sessions import ResolvedSession, create_session
from app.modules.auth.state import auth_state

R = TypeVar("R", bound=BaseResponse)
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
bp.before_request(protect)


@bp.after_request
def _clear_dead_session(response: Response) -> Response:
    """A route that looked for a session and found the presented one dead (revoked, expired) clears
    the cookies, whatever it answers, as better-auth's session lookup does on every endpoint that
    needs one; a cookie whose signature does not verify is none of ours to touch. A bearer token
    stands for the cookie in better-auth (its plugin turns it into one): cleared too."""
    identity = current()
    if not is_bound() or identity.resolved is not None or identity.user is not None:
        return response
    if identity.unavailable:
        return response  # "cannot tell" is not "dead": an outage never clears a cookie
    session_cookie = cookie_name(SESSION_TOKEN) + "="
    if any(line.startswith(session_cookie) for line in response.headers.getlist("Set-Cookie")):
        return response  # the route set or cleared it itself
    bearer = request.headers.get("Authorization", "")[:7].lower() == "bearer "
    if bearer or read_signed_cookie(request, SESSION_TOKEN) is not None:
        clear_session_cookies(response)
    return response


TAGS = ["Auth"]


def settings() -> Any:
    return current_app.config["SETTINGS"]


def hasher() -> PasswordHasher:
    found: PasswordHasher = auth_state().hasher
    return found


def client_ip() -> str:
    ip: str = g.get("client_ip") or ""
    return ip


def banned_user() -> ApiError:
    """better-auth's answer to a banned user's sign-in, word for word."""
    return ApiError(
        403,
        "BANNED_USER",
        "You have been banned from this application. Please contact support if you believe this is an error.",
    )


def require_session() -> ResolvedSession:
    resolved = resolve_identity()
    if resolved is None:
        raise_if_unavailable()
        raise ApiError(401, "UNAUTHORIZED", "Unauthorized")
    return resolved


def _require_session(**_kwargs: Any) -> object:
    return require_session()


@overload
def session_guard(view: F) -> F: ...


@overload
def session_guard(*, check: Callable[..., object]) -> Callable[[F], F]: ...


def session_guard(view: F | None = None, *, check: Callable[..., object] = _require_session) -> Any:
    """better-auth's session middleware as a guard, written under ``@endpoint``: the body is validated
    first (better-auth's order on its own routes), then ``check`` refuses before the handler runs
    (401 ``UNAUTHORIZED`` without a session, 503 when it cannot tell). ``check`` gets the view's
    keyword arguments; a route passes its own when something comes before the session (the plugin
    switched off: 404) or its refusal has its own code. The guard is what puts ``security`` in
    the OpenAPI document. Usable as ``@session_guard`` or ``@session_guard(check=...)``."""

    def decorator(inner: F) -> F:
        @wraps(inner)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check(**kwargs)
            return inner(*args, **kwargs)

        mark_guard(wrapper, inner, "session")
        return cast(F, wrapper)

    return decorator(view) if view is not None else decorator


def current_user_row(resolved: ResolvedSession) -> User:
    from app.extensions import db

    user = db.session.get(User, resolved.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHORIZED", "Unauthorized")
    return user


def json_response(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def start_session(user: User, *, dont_remember: bool) -> tuple[str, Any]:
    """Create a session for the user (added to the db session, not committed); returns (token, row)."""
    session, token = create_session(
        user,
        ip_address=client_ip(),
        user_agent=request.headers.get("User-Agent", ""),
        dont_remember=dont_remember,
    )
    return token, session


def with_session_cookie(response: R, token: str, *, dont_remember: bool) -> R:
    set_session_cookie(response, token, dont_remember=dont_remember)
    return response


def without_session(response: R) -> R:
    clear_session_cookies(response)
    return response


def user_body(user: User) -> dict[str, Any]:
    return user_json(user)
