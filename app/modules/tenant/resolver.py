"""Which tenant (organization) a request acts in: ``g.tenant``, resolved once per request.

Sources, in order: the session's active organization, the tenant header (``X-Tenant-ID``), the
subdomain (off by default), then the auth bridge's organization context (the oldest membership, or
an organization-scoped API key). A header or subdomain only *selects*: the caller must be a member,
or hold a key scoped to that organization, else 403 (OWASP ASVS V4.2.1, insecure direct object
reference: a client-supplied tenant id is never trusted on its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, g, request

from app.core.errors import ApiError
from app.modules.auth.organization.service import member_role, organization_id_by_slug
from app.modules.tenant.settings import TenantSettings

_SKIPPED = ("/metrics", "/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz")
_AUTH_PREFIX = "/api/v1/auth"
_SLASHES = re.compile(r"/{2,}")
_MAX_ID = 255


@dataclass(frozen=True, slots=True)
class Tenant:
    """The request's tenant: the organization id and where it came from."""

    id: str
    source: str  # "session" | "header" | "subdomain" | "context"
    role: str | None  # the caller's member role; None for an organization-scoped API key


def forbidden() -> ApiError:
    return ApiError(403, "TENANT_FORBIDDEN", "You are not a member of this tenant")


def _skipped(path: str) -> bool:
    path = _SLASHES.sub("/", path.split("?", 1)[0]).rstrip("/") or "/"
    return path in _SKIPPED or path == _AUTH_PREFIX or path.startswith(_AUTH_PREFIX + "/")


def _key_organization() -> str | None:
    """The organization an organization-owned API key is scoped to, set by the auth module's
    API-key resolver (``g.api_key_organization_id``)."""
    value = g.get("api_key_organization_id")
    return str(value) if value else None


def _subdomain_slug(settings: TenantSettings) -> str | None:
    if not settings.subdomain or not settings.base_domain:
        return None
    host = request.host.split(":", 1)[0].lower().rstrip(".")
    suffix = "." + settings.base_domain.lower().strip(".")
    if not host.endswith(suffix):
        return None
    label = host[: -len(suffix)]
    return label if label and "." not in label else None


def _admit(candidate: str, source: str) -> Tenant | None:
    """The tenant when the caller may act in it, else None."""
    key_org = _key_organization()
    if key_org is not None:
        return Tenant(candidate, source, None) if key_org == candidate else None
    role = member_role(g.user.id, candidate)
    return Tenant(candidate, source, role) if role is not None else None


def resolve_tenant() -> Tenant | None:
    """Resolve ``g.tenant`` (idempotent); raises 403 when a header or subdomain names a foreign tenant."""
    if g.get("tenant_resolved"):
        tenant: Tenant | None = g.get("tenant")
        return tenant
    g.tenant = None
    g.tenant_resolved = True
    if g.get("user") is None:
        return None  # anonymous: nothing to be a member of; the guards answer 401
    settings: TenantSettings = current_app.extensions["tenant"].settings
    session = g.get("session") or {}
    active = session.get("activeOrganizationId") if g.get("auth_session") is not None else None
    if active:
        admitted = _admit(str(active), "session")
        if admitted is not None:
            g.tenant = admitted
            return admitted
        # a stale choice (membership since removed) selects nothing; fall through to the others
    header = request.headers.get(settings.header, "").strip() if settings.header else ""
    if header:
        admitted = _admit(header[:_MAX_ID], "header")
        if admitted is None:
            raise forbidden()
        g.tenant = admitted
        return admitted
    slug = _subdomain_slug(settings)
    if slug:
        organization_id = organization_id_by_slug(slug)
        admitted = _admit(organization_id, "subdomain") if organization_id else None
        if admitted is None:
            raise forbidden()
        g.tenant = admitted
        return admitted
    context = g.get("organization_id")
    if context:
        g.tenant = _admit(str(context), "context")
    found: Tenant | None = g.tenant
    return found


def tenant_before_request() -> None:
    if _skipped(request.path):
        g.tenant = None
        return
    from app.modules.tenant.rls import apply_rls

    resolve_tenant()
    apply_rls()
