"""The default organization travels with the cached session, and membership changes refresh it
at once in every process (two apps on one database and one Redis stand for two workers)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify

from app.core.identity import current
from app.modules.auth.crypto import hash_token
from app.modules.auth.sessions import CACHE_PREFIX
from tests.auth.helpers import post, sign_up
from tests.auth.test_organization import create_org, join

pytestmark = pytest.mark.redis


def _probe(app: Flask) -> Flask:
    @app.get("/probe/org")
    def probe() -> Any:
        return jsonify(organization=current().organization_id)

    return app


def test_default_organization_is_cached_and_refreshed(make_app: Any, redis_url: str) -> None:
    one, two = _probe(make_app(REDIS_URL=redis_url)), _probe(make_app(REDIS_URL=redis_url))
    owner = one.test_client()
    sign_up(owner, "owner@example.com")
    org = create_org(owner, "acme")
    member = join(one, owner, org["id"], "member@example.com")
    post(member, "/organization/set-active", {"organizationId": None})
    token = member.get("/api/v1/auth/get-session").json["session"]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # The set-active above left a short-lived stale marker; let it lapse so the cache fills.
    two.extensions["redis"].delete(CACHE_PREFIX + hash_token(token))
    other_worker = two.test_client()
    assert other_worker.get("/probe/org", headers=headers).json["organization"] == org["id"]
    assert other_worker.get("/probe/org", headers=headers).json["organization"] == org["id"]  # from the cache
    assert b"defaultOrganizationId" in two.extensions["redis"].get(CACHE_PREFIX + hash_token(token))

    removed = post(owner, "/organization/remove-member", {"memberIdOrEmail": "member@example.com",
                                                          "organizationId": org["id"]})
    assert removed.status_code == 200
    assert other_worker.get("/probe/org", headers=headers).json["organization"] is None
