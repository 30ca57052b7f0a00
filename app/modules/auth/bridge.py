"""The bridge: one ``before_request`` that turns the request's credentials into the request's
:class:`~app.core.identity.Identity`, and one ``teardown_request`` that releases it.

It resolves, it never decides: a failure is logged and the request goes on anonymous; the guards
(``require_auth`` and friends) are what refuse. It skips the probes, the metrics and the auth routes
(which resolve on demand), matched on a normalized path so ``//api/v1/healthz/`` is no way around it.
Where it sits in a request: docs/architecture.md, "The request, step by step".
"""

from __future__ import annotations

import re

from flask import Flask, request

from app.core.identity import release
from app.modules.auth.identity import reset_identity, resolve_identity
from app.modules.auth.state import auth_state

AUTH_PREFIX = "/api/v1/auth"
SKIPPED = frozenset({"/metrics", "/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz"})
_SLASHES = re.compile(r"/{2,}")


def normalize_path(path: str) -> str:
    """No query string, no duplicate slashes, no trailing slash."""
    path = path.split("?", 1)[0]
    path = _SLASHES.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"


def is_skipped(path: str) -> bool:
    normalized = normalize_path(path)
    return normalized in SKIPPED or normalized == AUTH_PREFIX or normalized.startswith(AUTH_PREFIX + "/")


def bridge() -> None:
    # Start from nothing, even when a caller shares one app context across requests (tests,
    # scripts): what a previous request resolved must never answer for this one.
    reset_identity()
    if not is_skipped(request.path):
        resolve_identity()


def init_bridge(app: Flask) -> None:
    state = auth_state(app)
    if state.bridge is not None:
        raise RuntimeError("the auth bridge is already registered on this app")
    app.before_request(bridge)
    app.teardown_request(release)  # identity ends with its request, not at the start of the next
    state.bridge = bridge
