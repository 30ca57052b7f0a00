"""Typed access control, as better-auth's ``createAccessControl`` (reference §8).

Statements declare the resources and their actions; a role grants a subset; ``authorize`` asks
whether a role allows a request (OWASP ASVS V4: deny by default; unknown resources and actions are
refused, never silently allowed). The admin and organization plugins build on this; the application
(``app/access_control.py``) and the other modules extend the organization roles with :meth:`AccessControl.extend`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Statements = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Role:
    name: str
    grants: Mapping[str, frozenset[str]]

    def authorize(self, request: Statements, connector: Literal["AND", "OR"] = "AND") -> bool:
        """True when the role allows every requested action of every requested resource
        (``connector="OR"``: at least one action per resource)."""
        if not request:
            return False
        for resource, actions in request.items():
            allowed = self.grants.get(resource)
            if allowed is None or not actions:
                return False
            hits = [action in allowed for action in actions]
            if not (all(hits) if connector == "AND" else any(hits)):
                return False
        return True


class AccessControl:
    """The statements of one domain (admin, organization, the application) and its roles."""

    def __init__(self, statements: Statements) -> None:
        self.statements: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in statements.items()}
        self.roles: dict[str, Role] = {}

    def new_role(self, name: str, grants: Statements) -> Role:
        for resource, actions in grants.items():
            known = self.statements.get(resource)
            if known is None:
                raise ValueError(f"role {name!r} grants unknown resource {resource!r}")
            unknown = set(actions) - known
            if unknown:
                raise ValueError(f"role {name!r} grants unknown actions {sorted(unknown)} on {resource!r}")
        role = Role(name, {k: frozenset(v) for k, v in grants.items()})
        self.roles[name] = role
        return role

    def extend(self, statements: Statements, grants: Mapping[str, Statements]) -> None:
        """Add resources and grant their actions to existing roles (``{"admin": {"audit": ["read"]}}``).

        How the application and the other modules add their permissions to auth's roles: auth never
        imports them. Idempotent; a resource already declared keeps its actions and gains the new ones.
        """
        for resource, actions in statements.items():
            self.statements[resource] = self.statements.get(resource, frozenset()) | frozenset(actions)
        for name, granted in grants.items():
            role = self.roles.get(name)
            if role is None:
                raise ValueError(f"cannot extend unknown role {name!r}")
            merged = {k: set(v) for k, v in role.grants.items()}
            for resource, actions in granted.items():
                merged.setdefault(resource, set()).update(actions)
            self.new_role(name, {k: sorted(v) for k, v in merged.items()})

    def authorize(self, role_names: Sequence[str], request: Statements) -> bool:
        """Multi-role users pass when any one of their roles allows the whole request, as better-auth."""
        return any(role.authorize(request) for name in role_names if (role := self.roles.get(name)) is not None)


def split_roles(value: str | None) -> list[str]:
    """better-auth stores several roles as one comma-separated string."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
