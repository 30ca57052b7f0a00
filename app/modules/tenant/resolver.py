"""Which tenant (organization) a request acts in: ``Identity.tenant``, added once per request
through the module contract's ``contribute_identity``.

Sources, in order: the session's active organization, the tenant header (``X-Tenant-ID``), the
subdomain (off by default), then the auth bridge's organization context (the oldest membership, or
an organization-scoped API key). A header or subdomain only *selects*: the caller must be a member,
or hold a key scoped to that organization, else 403 (OWASP ASVS V4.2.1, insecure direct object
reference: a client-supplied tenant id is never trusted on its own).
"""

from __future__ import annotations

import re
from dataclasses import replace

from flask import current_app, request

from app.core.errors import ApiError
from app.core.identity import Identity, Tenant
from app.modules.auth.organization.service import member_role, organization_id_by_slug
from app.modules.tenant.settings import TenantSettings

_SKIPPED = ("/metrics", "/api/v1/healthz", "/api/v1/livez", "/api/v1/readyz")
_AUTH_PREFIX = "/api/v1/auth"
_SLASHES = re.compile(r"/{2,}")
_MAX_ID = 255

__all__ = ["Tenant", "contribute_tenant", "forbidden", "tenant_before_request"]


def forbidden() -> ApiError:
    return ApiError(403, "TENANT_FORBIDDEN", "You are not a member of this tenant")


def _skipped(path: str) -> bool:
    path = _SLASHES.sub("/", path.split("?", 1)[0]).rstrip("/") or "/"
    return path in _SKIPPED or path == _AUTH_PREFIX or path.startswith(_AUTH_PREFIX + "/")


def _subdomain_slug(settings: TenantSettings) -> str | None:
    if not settings.subdomain or not settings.base_domain:
        return None
    host = request.host.split(":", 1)[0].lower().rstrip(".")
    suffix = "." + settings.base_domain.lower().strip(".")
    if not host.endswith(suffix):
        return None
    label = host[: -len(suffix)]
    return label if label and "." not in label else None


def _admit(identity: Identity, candidate: str, source: str) -> Tenant | None:
    """The tenant when the caller may act in it, else None. An organization-owned API key is
    admitted to its own organization only (``Identity.key_organization_id``)."""
    key_org = identity.key_organization_id
    if key_org:
        return Tenant(candidate, source, None) if key_org == candidate else None
    if identity.user is None:
        return None
    role = member_role(identity.user.id, candidate)
    return Tenant(candidate, source, role) if role is not None else None


def _resolve(identity: Identity) -> Tenant | ApiError | None:
    """The admitted tenant; the 403 when a header or subdomain names a foreign tenant."""
    settings: TenantSettings = current_app.extensions["tenant"].settings
    session = identity.session or {}
    active = session.get("activeOrganizationId") if identity.resolved is not None else None
    if active:
        admitted = _admit(identity, str(active), "session")
        if admitted is not None:
            return admitted
        # a stale choice (membership since removed) selects nothing; fall through to the others
    header = request.headers.get(settings.header, "").strip() if settings.header else ""
    if header:
        return _admit(identity, header[:_MAX_ID], "header") or forbidden()
    slug = _subdomain_slug(settings)
    if slug:
        organization_id = organization_id_by_slug(slug)
        return (_admit(identity, organization_id, "subdomain") if organization_id else None) or forbidden()
    context = identity.organization_id
    return _admit(identity, str(context), "context") if context else None


def contribute_tenant(identity: Identity) -> Identity:
    """The tenant module's ``contribute_identity``: the tenant the caller acts in. A foreign tenant
    named by a header or subdomain becomes the identity's ``refusal``, which the guards raise (403
    ``TENANT_FORBIDDEN``) instead of this module answering from a ``before_request``."""
    if identity.user is None or _skipped(request.path):
        return identity  # anonymous: nothing to be a member of; the guards answer 401
    found = _resolve(identity)
    if isinstance(found, ApiError):
        return replace(identity, tenant=None, refusal=found)
    return replace(identity, tenant=found)


def tenant_before_request() -> None:
    """Row-level security follows the tenant the bridge's identity carries."""
    if _skipped(request.path):
        return
    from app.modules.tenant.rls import apply_rls

    apply_rls()
