"""``@require_tenant``: 400 ``TENANT_REQUIRED`` when the request resolved no tenant.

A pass-through when the tenant module is off, so route code imports it unconditionally.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g

from app.core.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def current_tenant() -> Any:
    """``g.tenant`` (a :class:`~app.modules.tenant.resolver.Tenant`), or None (none, or module off)."""
    return g.get("tenant")


def require_tenant(view: F) -> F:
    """Put it under ``@require_auth`` so an anonymous caller gets 401 first."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "tenant" in current_app.extensions and g.get("tenant") is None:
            raise ApiError(
                400, "TENANT_REQUIRED",
                "This request needs a tenant: set an active organization or send the tenant header",
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)
