"""An organization-scoped API key must be admitted to its own tenant (and only to it).

The tenant resolver looks for the key's organization under ``organizationId``/``organization_id``
in the request's API key (once ``g.api_key``), but the api-key plugin's ``key_json`` names it ``referenceId`` (with
``configId == "organization"``). The key's organization is therefore never recognised: the
resolver falls back to ``member_role(<key id>, org)``, so an organization key gets 400
TENANT_REQUIRED on its own organization and 403 with ``X-Tenant-ID`` of its own organization.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.modules.auth.api_key import KeyFields, create_api_key
from tests.auth.helpers import post, sign_up

pytestmark = pytest.mark.modules("tenant", "example")


def test_an_organization_key_reaches_its_own_tenant_and_no_other(make_app: Any) -> None:
    app = make_app(MODULES__TENANT="true", MODULES__EXAMPLE="true")
    owner = app.test_client()
    sign_up(owner, "owner@example.com")
    org = post(owner, "/organization/create", {"name": "Acme", "slug": "acme"}).json["id"]
    other = post(owner, "/organization/create", {"name": "Other", "slug": "other"}).json["id"]
    with app.app_context():
        _, key = create_api_key(org, KeyFields(permissions={"project": ["read"]}), config_id="organization")
    anonymous = app.test_client()

    foreign = anonymous.get("/api/v1/projects", headers={"x-api-key": key, "X-Tenant-ID": other})
    assert foreign.status_code == 403  # never another organization
    own = anonymous.get("/api/v1/projects", headers={"x-api-key": key, "X-Tenant-ID": org})
    assert own.status_code == 200, own.json
    implicit = anonymous.get("/api/v1/projects", headers={"x-api-key": key})
    assert implicit.status_code == 200, implicit.json
