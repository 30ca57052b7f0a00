"""The official better-auth client with ``twoFactorClient``, unchanged, drives two-factor sign-in.

``tests/js/two-factor-flows.mjs`` runs the journey over real HTTP with better-auth's own TOTP code
generator; this side asserts on what it observed (better-auth reference §6 shapes and codes, and
where we are stricter: no ``set-auth-token`` on a challenge, a TOTP code accepted once).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.jsenv import run_node
from tests.live_server import LiveServer, live_server, make_live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.node


def test_two_factor_lifecycle_with_the_js_client(live_server: LiveServer) -> None:  # noqa: F811
    out: dict[str, Any] = run_node("two-factor-flows.mjs", live_server.url, "lifecycle")
    email = out["email"]

    assert out["enable"]["status"] == 200 and out["enable"]["backupCodes"] == 10
    assert out["enable"]["uri"].startswith("otpauth://totp/")
    assert out["pendingEnabled"] is False
    assert out["setup"] == {"status": 200, "enabled": True}
    assert out["afterSetupEnabled"] is True
    assert out["signOut"] == 200

    # The sign-in challenge: the plugin's redirect callback fires, no session and no bearer token.
    assert out["challenge"]["status"] == 200
    assert out["challenge"]["data"] == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    assert out["challenge"]["setAuthToken"] is None
    assert out["redirects"] == [["totp"]]
    assert out["duringChallenge"] is None

    verify = out["verify"]
    assert (verify["status"], verify["code"], verify["email"]) == (200, None, email)
    assert verify["setAuthToken"].startswith(verify["token"] + ".")
    assert out["afterVerifyEmail"] == email

    # Trusted device: no challenge on the next sign-in, and the cookie was rotated.
    assert out["trustCookie"] is True
    assert out["trusted"] == {"status": 200, "redirect": False, "email": email}
    assert out["trustRotated"] is True

    # Another device: the TOTP code already used is refused; a backup code works once.
    assert out["secondChallenge"]["twoFactorRedirect"] is True
    assert (out["replay"]["status"], out["replay"]["code"]) == (401, "INVALID_CODE")
    assert out["backup"] == {"status": 200, "email": email}
    assert out["secondSessionEmail"] == email
    assert (out["reusedBackup"]["status"], out["reusedBackup"]["code"]) == (401, "INVALID_BACKUP_CODE")
    assert (out["noCookie"]["status"], out["noCookie"]["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")

    assert out["regenerated"] == {"status": 200, "count": 10, "overlap": 0}
    assert out["sameSecret"] is True
    assert out["disable"] == {"status": 200, "code": None, "data": {"status": True}}
    assert out["afterDisableEnabled"] is False
    assert out["trustAfterDisable"] is None
    assert out["plainSignIn"] == {"status": 200, "redirect": False, "email": email}
