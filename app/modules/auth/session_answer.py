"""get-session's JSON body for a session, serialised once per copy of the session this process holds.

Why: a client polls ``get-session`` (better-auth's ``useSession`` on every focus and interval);
encoding the session and user objects was a fifth of the route's time, for the same bytes each time.

What keeps it right: the body is remembered with the very ``session`` and ``user`` objects it was
made from (the in-memory session copy of :mod:`app.modules.auth.sessions`), and reused only for a
request that resolved to those same objects. So it never decides whether a session is valid: the
resolution before it does, on every request, against the revocation sequence (a revoked session,
a changed user or a slid expiry is a new copy, hence new objects, hence a new body). Bounded, the
oldest entry goes first; one dictionary per process shared by its threads (single ``get`` and
``set`` operations, atomic under the GIL).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from app.modules.auth.sessions import ResolvedSession

__all__ = ["BODY_CACHE_SIZE", "session_response"]

#: How many sessions' bodies a process keeps (each a few hundred bytes).
BODY_CACHE_SIZE = 10_000
_EXTENSION = "auth.sessions.bodies"


def _bodies() -> dict[str, tuple[Any, Any, bytes]]:
    extensions = current_app.extensions
    bodies: dict[str, tuple[Any, Any, bytes]] | None = extensions.get(_EXTENSION)
    if bodies is None:
        bodies = extensions.setdefault(_EXTENSION, {})
    return bodies


def session_response(resolved: ResolvedSession) -> Response:
    """``{"session": ..., "user": ...}`` as ``jsonify`` writes it (the same bytes)."""
    bodies = _bodies()
    held = bodies.get(resolved.token_hash)
    if held is not None and held[0] is resolved.session and held[1] is resolved.user:
        return current_app.response_class(held[2], mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]
    response = jsonify({"session": resolved.session_with_token(), "user": resolved.user})
    if len(bodies) >= BODY_CACHE_SIZE:
        try:
            bodies.pop(next(iter(bodies)), None)
        except (StopIteration, RuntimeError):  # another thread changed it meanwhile
            pass
    bodies[resolved.token_hash] = (resolved.session, resolved.user, response.get_data())
    return response
