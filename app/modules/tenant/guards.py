"""The tenant accessors; ``require_tenant`` itself lives with the other guards in :mod:`app.modules`
(a pass-through when this module is off, so route code imports it unconditionally)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from app.core.identity import Tenant, current
from app.modules.guards import require_tenant

__all__ = ["current_tenant", "require_tenant"]

F = TypeVar("F", bound=Callable[..., Any])


def current_tenant() -> Tenant | None:
    """The identity's tenant, or None (none, or module off)."""
    return current().tenant
