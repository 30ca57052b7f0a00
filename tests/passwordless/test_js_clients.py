"""The official client plugins (``emailOTPClient``, ``magicLinkClient``, ``passkeyClient``), unchanged,
against our server over HTTP: ``tests/js/passwordless-flows.mjs`` drives them, this side asserts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.jsenv import run_node
from tests.live_server import LiveServer, LiveServerFactory, make_live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.node

ALL_ON = {
    "AUTH__PASSKEY__ENABLED": "true",
    "AUTH__MAGIC_LINK__ENABLED": "true",
    "AUTH__EMAIL_OTP__ENABLED": "true",
}


def flow(server: LiveServer, name: str) -> dict[str, Any]:
    out: dict[str, Any] = run_node("passwordless-flows.mjs", server.url, str(server.outbox), name)
    print(json.dumps(out, indent=1))
    return out


def err(status: int, code: str) -> dict[str, Any]:
    return {"status": status, "code": code, "keys": None}


def ok(*keys: str) -> dict[str, Any]:
    return {"status": 200, "code": None, "keys": sorted(keys)}


def test_email_otp_client(make_live_server: LiveServerFactory) -> None:  # noqa: F811
    out = flow(make_live_server(**ALL_ON), "emailOtp")
    assert out["send"] == ok("success") == out["unknownVerification"] == out["sendVerification"]
    assert out["wrong"] == err(400, "INVALID_OTP") == out["reuse"]
    assert {k: out["signIn"][k] for k in ("status", "code", "keys", "emailVerified")} == {
        **ok("token", "user"),
        "emailVerified": True,
    }
    assert out["sessionEmail"] is True
    assert out["invalidEmail"] == err(400, "INVALID_EMAIL")
    assert out["attempts"] == [err(400, "INVALID_OTP")] * 3
    assert out["afterAttempts"] == err(403, "TOO_MANY_ATTEMPTS")
    assert out["check"] == ok("success")
    assert out["verifyEmail"] == {**ok("status", "token", "user"), "token": None, "emailVerified": True}
    assert out["requestReset"] == ok("success") == out["reset"] == out["deprecatedReset"]
    assert out["shortPassword"] == err(400, "PASSWORD_TOO_SHORT")
    assert out["newPasswordSignIn"] == 200


def test_magic_link_client(make_live_server: LiveServerFactory) -> None:  # noqa: F811
    server = make_live_server(**ALL_ON)
    out = flow(server, "magicLink")
    assert out["send"] == ok("status")
    assert out["link"] == {
        "path": "/api/v1/auth/magic-link/verify",
        "params": ["callbackURL", "token"],
        "callbackURL": "/dashboard",
        "tokenLength": 32,
    }
    assert out["follow"] == {"status": 302, "location": f"{server.url}/dashboard"}
    assert out["session"] == {"email": True, "name": "Lin", "emailVerified": True}
    assert out["reuse"] == {"status": 302, "location": f"{server.url}/dashboard?error=INVALID_TOKEN"}
    assert {k: out["verifyJson"][k] for k in ("status", "code", "keys")} == ok("session", "token", "user")
    assert out["untrusted"] == err(403, "INVALID_CALLBACK_URL")
    assert out["invalidEmail"] == err(400, "VALIDATION_ERROR")
    assert out["badToken"] == {"status": 302, "location": f"{server.url}/x?error=INVALID_TOKEN"}


def test_passkey_client(make_live_server: LiveServerFactory) -> None:  # noqa: F811
    out = flow(make_live_server(**ALL_ON), "passkeyApi")
    assert out["listAnonymous"] == err(401, "UNAUTHORIZED") == out["registerAnonymous"]
    assert out["authenticateOptions"] == {
        **ok("challenge", "rpId", "timeout", "userVerification"),
        "userVerification": "preferred",
        "challengeLength": 43,
    }
    assert out["cookie"] == ["better-auth.better-auth-passkey"]
    assert out["unknownCredential"] == err(401, "PASSKEY_NOT_FOUND")
    assert out["noChallenge"] == err(400, "CHALLENGE_NOT_FOUND") == out["noRegistrationChallenge"]
    assert out["list"] == {"status": 200, "code": None, "keys": []}
    options = out["registerOptions"]
    assert options["userName"] == "work" and options["attestation"] == "none" and options["hints"] == []
    assert options["authenticatorSelection"] == {
        "residentKey": "preferred",
        "userVerification": "preferred",
        "requireResidentKey": False,
    }
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-8, -7, -257]
    assert out["badRegistration"] == err(400, "FAILED_TO_VERIFY_REGISTRATION")
    assert out["deleteUnknown"] == err(404, "PASSKEY_NOT_FOUND") == out["updateUnknown"]
    assert out["updateEmptyName"] == err(400, "VALIDATION_ERROR")
