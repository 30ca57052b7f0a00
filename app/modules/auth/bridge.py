"""The bridge: one ``before_request`` that turns the request's credentials into ``g``.

It resolves, it never decides: a failure is logged and the request goes on anonymous; the guards
(``require_auth`` and friends) are what refuse. It skips the probes, the metrics and the auth routes
(which resolve on demand), matched on a normalized path so ``//api/v1/healthz/`` is no way around it.
Where it sits in a request: docs/architecture.md, "The request, step by step".
"""

from __future__ import annotations

import re

from flask import Flask, g, request

from app.modules.auth.identity import reset_identity, resolve_identity

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
    if is_skipped(request.path):
        reset_identity()
    else:
        g.auth_resolved = False  # resolve_identity starts from a clean g itself
        resolve_identity()


def init_bridge(app: Flask) -> None:
    if app.extensions.get("auth.bridge"):
        raise RuntimeError("the auth bridge is already registered on this app")
    app.before_request(bridge)
    app.extensions["auth.bridge"] = bridge
