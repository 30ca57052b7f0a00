"""Route guards, importable whether or not the auth module is on.

The guards only ask; the policy decides. The auth module installs its policy in
``app.extensions["access_policy"]``; without it the guards let every request through, so the same
route code runs in an application that has no auth module at all (docs/architecture.md,
"Identity and policy").

Guards are where access is decided, and what the OpenAPI document says of it: each guard records
its kind on the view (:func:`app.core.api.guards_of`), and an operation is documented with
``security`` exactly when one of its guards needs an identity (:func:`app.core.api.requires_identity`).
On application routes the guards sit above ``@endpoint``, so an anonymous caller gets 401 before any
400 or 415; the auth routes put theirs below it, because better-auth validates the body before its
session middleware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from typing import Any, Protocol, TypeVar, cast

from flask import current_app

from app.core.api import guards_of, mark_guard, requires_identity
from app.core.identity import current

__all__ = [
    "AccessPolicy",
    "Permissions",
    "current_policy",
    "guards_of",
    "require_auth",
    "require_permission",
    "require_role",
    "require_tenant",
    "requires_identity",
]

F = TypeVar("F", bound=Callable[..., Any])

#: ``{"project": ["create", "update"]}``: resource to the actions required on it.
Permissions = Mapping[str, Sequence[str]]


class AccessPolicy(Protocol):
    """What a guard asks of the auth module; each method raises an ``ApiError`` to refuse."""

    def authenticate(self) -> None: ...

    def check_roles(self, roles: Sequence[str]) -> None: ...

    def holds_role(self, roles: Sequence[str]) -> bool:
        """Whether the identified caller holds one of ``roles`` (401 without identity, never 403):
        for a route whose answer depends on the role, not only whether it may be asked."""
        ...

    def check_permissions(self, permissions: Permissions) -> None: ...


class PassThroughPolicy:
    """The stand-in when the auth module is off: everything is allowed."""

    def authenticate(self) -> None:
        return None

    def check_roles(self, roles: Sequence[str]) -> None:
        return None

    def holds_role(self, roles: Sequence[str]) -> bool:
        return True

    def check_permissions(self, permissions: Permissions) -> None:
        return None


_PASS_THROUGH = PassThroughPolicy()


def current_policy() -> AccessPolicy:
    policy: AccessPolicy = current_app.extensions.get("access_policy", _PASS_THROUGH)
    return policy


def _guard(check: Callable[[AccessPolicy], None], kind: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check(current_policy())
            return view(*args, **kwargs)

        mark_guard(wrapper, view, kind)
        return cast(F, wrapper)

    return decorator


def require_auth(view: F | None = None) -> Any:
    """401 unless the request has an identity. Usable as ``@require_auth`` or ``@require_auth()``."""
    decorator = _guard(lambda policy: policy.authenticate(), "auth")
    return decorator(view) if view is not None else decorator


def require_role(*roles: str) -> Callable[[F], F]:
    """401 without identity, 403 unless the user holds at least one of ``roles``."""
    if not roles or not all(isinstance(role, str) and role for role in roles):
        raise TypeError("require_role needs one or more role names")
    wanted = tuple(roles)
    return _guard(lambda policy: policy.check_roles(wanted), "role")


def _normalize(spec: Permissions | str | Iterable[str], extra: tuple[str, ...]) -> dict[str, list[str]]:
    """Accept ``{"project": ["create"]}`` or ``"project:create", "project:update"``."""
    items: list[str]
    if isinstance(spec, Mapping):
        if extra:
            raise TypeError("require_permission takes one mapping, or 'resource:action' strings")
        normalized = {str(k): [str(a) for a in v] for k, v in spec.items()}
    else:
        items = [spec] if isinstance(spec, str) else list(spec)
        items += list(extra)
        normalized = {}
        for item in items:
            resource, sep, action = item.partition(":")
            if not sep or not resource or not action:
                raise TypeError(f"permission {item!r} is not of the form 'resource:action'")
            normalized.setdefault(resource, []).append(action)
    if not normalized or not all(normalized.values()):
        raise TypeError("require_permission needs at least one resource with at least one action")
    return normalized


def require_permission(spec: Permissions | str | Iterable[str], *more: str) -> Callable[[F], F]:
    """401 without identity, 403 unless the identity holds every listed permission."""
    permissions = _normalize(spec, more)
    return _guard(lambda policy: policy.check_permissions(permissions), "permission")


def require_tenant(view: F) -> F:
    """400 ``TENANT_REQUIRED`` when the tenant module is on and the request resolved no tenant (the
    tenant module's own refusal, 403 ``TENANT_FORBIDDEN`` for a foreign tenant, first); a
    pass-through when the module is off. Put it under ``@require_auth`` so anonymous callers get 401."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        identity = current()
        if identity.refusal is not None:
            raise identity.refusal
        if "tenant" in current_app.extensions and identity.tenant is None:
            from app.core.errors import ApiError

            raise ApiError(
                400,
                "TENANT_REQUIRED",
                "This request needs a tenant: set an active organization or send the tenant header",
            )
        return view(*args, **kwargs)

    mark_guard(wrapper, view, "tenant")
    return cast(F, wrapper)
