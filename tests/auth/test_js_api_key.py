"""The official clients against our server, over real HTTP: ``apiKeyClient`` manages keys, and a
JWT from ``/token`` verifies with ``jose`` (not our code) against ``/jwks``, before and after a
rotation; a forged one does not."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from app.modules.auth.api_key.keys import hash_key
from app.modules.auth.jwt.cli import jwks_cli
from tests.jsenv import run_node
from tests.live_server import LiveServer, make_live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.node


def test_the_js_client_creates_lists_updates_and_deletes_keys(make_live_server: Any) -> None:  # noqa: F811
    server: LiveServer = make_live_server(AUTH__API_KEY__ENABLE_METADATA="true")
    out = run_node("api-key-flows.mjs", server.url, "crud")

    created = out["created"]
    assert (created["status"], created["code"]) == (200, None)
    key = created["data"]["key"]
    assert key.startswith("ba_") and len(key) == 67
    assert created["data"]["metadata"] == {"env": "ci"}
    assert created["data"]["start"] == key[:6]
    # What we store (hash_key, checked against the row in test_api_key_routes) is better-auth's own
    # hash, computed here by @better-auth/api-key's defaultKeyHasher: imported keys keep working.
    assert hash_key(key) == out["betterAuthHash"]

    assert out["listed"]["data"]["total"] == 1
    assert out["listed"]["data"]["apiKeys"][0]["id"] == created["data"]["id"]
    assert "key" not in out["listed"]["data"]["apiKeys"][0]
    assert out["fetched"]["data"]["name"] == "ci"
    assert out["renamed"]["data"]["name"] == "renamed"
    assert (out["serverOnly"]["status"], out["serverOnly"]["code"]) == (400, "SERVER_ONLY_PROPERTY")

    as_key = out["asKey"]
    assert as_key["status"] == 200
    assert as_key["data"]["user"]["email"] == out["email"]
    assert as_key["data"]["session"]["id"] == created["data"]["id"]

    assert out["disabled"]["data"]["enabled"] is False
    assert (out["asDisabled"]["status"], out["asDisabled"]["code"]) == (401, "KEY_DISABLED")
    assert out["deleted"]["data"] == {"success": True}
    assert (out["asDeleted"]["status"], out["asDeleted"]["code"]) == (401, "INVALID_API_KEY")
    assert out["listedAfter"]["data"]["total"] == 0


def _verify(server: LiveServer, *tokens: str) -> list[dict[str, Any]]:
    result = run_node("jwt-verify.mjs", f"{server.auth_url}/jwks", server.url, server.url, *tokens)
    assert isinstance(result, list)
    return result


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_jose_verifies_our_jwts_before_and_after_a_rotation(make_live_server: Any, alg: str) -> None:  # noqa: F811
    server: LiveServer = make_live_server(AUTH__JWT__ALG=alg)
    first = run_node("api-key-flows.mjs", server.url, "token")
    assert first["tokenStatus"] == 200
    assert [key["alg"] for key in first["jwks"]["keys"]] == [alg]
    old = first["token"]

    [before] = _verify(server, old)
    assert (before["ok"], before["alg"], before["email"]) == (True, alg, first["email"])

    result = server.app.test_cli_runner().invoke(jwks_cli, ["rotate"])
    assert result.exit_code == 0, result.output
    second = run_node("api-key-flows.mjs", server.url, "token", first["email"])
    new = second["token"]
    assert len(second["jwks"]["keys"]) == 2

    after_old, after_new = _verify(server, old, new)
    assert after_old["ok"] and after_new["ok"]
    assert after_new["kid"] != after_old["kid"]

    # A forged token: the payload changed under the old signature. jose refuses it too.
    header, payload, signature = new.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    [forged] = _verify(server, f"{header}.{forged_payload}.{signature}")
    assert forged["ok"] is False and forged["error"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
