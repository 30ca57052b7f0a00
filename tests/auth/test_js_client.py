"""The official better-auth JS client (``better-auth@1.7.25``) against our server, over real HTTP.

Each test serves a fresh app (``tests/live_server.py``), runs one flow of ``tests/js/client-flows.mjs``
with node, and asserts on the JSON the flow printed. The expected values are better-auth's (the
same requests against a real better-auth server: ``tests/conformance``), except where
this project deliberately differs: ``list-sessions`` returns an opaque handle in ``token``, never
another session's usable token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.conftest import TEST_SECRET
from tests.jsenv import run_node
from tests.live_server import LiveServer, live_server, make_live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.node

SESSION_COOKIE = "better-auth.session_token"
TOKEN_RE = re.compile(r"[A-Za-z0-9]{32}")
RESET_MESSAGE = "If this email exists in our system, check your email for the reset link"


def run_flow(server: LiveServer, flow: str) -> dict[str, Any]:
    result = run_node("client-flows.mjs", server.url, str(server.outbox), flow)
    assert isinstance(result, dict)
    return result


def signed(token: str) -> str:
    """better-call's signed cookie value: ``token.base64(HMAC-SHA256(secret, token))`` (protocol §1.2)."""
    mac = hmac.new(TEST_SECRET.encode(), token.encode(), hashlib.sha256).digest()
    return f"{token}.{base64.b64encode(mac).decode()}"


def cookie_line(set_cookie: list[str], name: str) -> str:
    lines = [line for line in set_cookie if line.startswith(f"{name}=")]
    assert lines, f"no Set-Cookie for {name} in {set_cookie}"
    return lines[-1]


def attributes(line: str) -> set[str]:
    return {part.strip().lower() for part in line.split(";")[1:]}


def error(observed: dict[str, Any]) -> tuple[int, str | None]:
    return observed["status"], observed["code"]


def test_sign_up_sets_the_session_and_get_session_returns_it(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "sign-up")
    sign_up = out["signUp"]

    assert (sign_up["status"], sign_up["code"]) == (200, None)
    token = sign_up["token"]
    assert TOKEN_RE.fullmatch(token)
    user = sign_up["user"]
    assert user["email"] == out["email"]
    assert (user["name"], user["emailVerified"]) == ("Ada", False)
    assert (user["firstname"], user["lastname"], user["bio"]) == ("Ada", "Lovelace", "Analytical engines")
    assert {"id", "name", "email", "emailVerified", "createdAt", "updatedAt"} <= set(user["keys"])

    # Cookie: signed token, better-auth's name and attributes; the bearer header carries the same.
    line = cookie_line(sign_up["setCookie"], SESSION_COOKIE)
    assert {"httponly", "samesite=lax", "path=/", "max-age=604800"} <= attributes(line)
    assert line.startswith(f"{SESSION_COOKIE}={quote(signed(token), safe='')};")
    assert out["cookieToken"] == token
    assert sign_up["setAuthToken"] == signed(token)
    assert "set-auth-token" in sign_up["exposeHeaders"].lower()
    assert SESSION_COOKIE in out["jarCookies"]

    session = out["getSession"]
    assert session["status"] == 200
    assert "no-store" in session["cacheControl"]
    assert session["userEmail"] == out["email"]
    assert session["sessionToken"] == token
    assert session["sessionUserId"] == user["id"] == session["userId"]
    assert {"id", "token", "userId", "expiresAt", "createdAt", "updatedAt"} <= set(session["sessionKeys"])
    assert session["user"]["bio"] == "Analytical engines"


def test_update_user_changes_profile_fields(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "update-user")

    assert out["update"] == {"status": 200, "ok": True, "code": None, "data": {"status": True}}
    user = out["after"]["user"]
    assert (user["name"], user["firstname"], user["lastname"], user["bio"]) == (
        "Ada King",
        "Ada",
        "Lovelace",
        "Analytical engines",
    )
    assert user["email"] == out["email"]
    assert error(out["emailChange"]) == (400, "EMAIL_CAN_NOT_BE_UPDATED")


def test_sign_out_ends_the_session_and_sign_in_starts_a_new_one(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "sign-out-sign-in")

    assert out["signOut"]["status"] == 200
    assert out["signOut"]["data"] == {"success": True}
    cleared = cookie_line(out["signOut"]["setCookie"], SESSION_COOKIE)
    assert cleared.startswith(f"{SESSION_COOKIE}=;") and "max-age=0" in attributes(cleared)
    assert SESSION_COOKIE not in out["jarAfterSignOut"]
    assert out["afterSignOut"] == {"status": 200, "ok": True, "code": None, "data": None}

    sign_in = out["signIn"]
    assert (sign_in["status"], sign_in["code"], sign_in["redirect"]) == (200, None, False)
    assert TOKEN_RE.fullmatch(sign_in["token"]) and sign_in["token"] != out["oldToken"]
    assert sign_in["user"]["email"] == out["email"]
    assert sign_in["setAuthToken"].startswith(sign_in["token"] + ".")
    assert out["afterSignIn"]["userEmail"] == out["email"]
    assert out["afterSignIn"]["sessionToken"] == sign_in["token"]


def test_list_and_revoke_sessions_across_two_devices(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "sessions")

    listed = out["list"]
    assert (listed["status"], listed["code"], listed["count"]) == (200, None, 2)
    assert listed["userAgents"] == ["device-first", "device-second"]
    assert {"id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "userAgent"} <= set(listed["keys"])
    # Deliberate difference from better-auth: another session's usable token is never listed ...
    assert out["secondToken"] not in listed["tokens"], "list-sessions leaked another session's token"
    # ... and its handle does not authenticate as a bearer token.
    assert out["handleAsBearer"] == {"status": 200, "ok": True, "code": None, "data": None}, "handle is a bearer"

    assert out["revoke"] == {"status": 200, "ok": True, "code": None, "data": {"status": True}}
    assert out["secondAfter"]["data"] is None
    assert out["firstAfter"]["userEmail"] == out["email"]
    assert out["listAfter"] == {"status": 200, "userAgents": ["device-first"]}


def test_change_password_revokes_other_sessions(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "change-password")

    assert error(out["wrongCurrent"]) == (400, "INVALID_PASSWORD")
    change = out["change"]
    assert (change["status"], change["code"], change["userEmail"]) == (200, None, out["email"])
    assert TOKEN_RE.fullmatch(change["token"]) and change["token"] != out["oldToken"]
    assert change["setAuthToken"].startswith(change["token"] + ".")
    assert out["cookieToken"] == change["token"]
    assert out["firstAfter"]["sessionToken"] == change["token"]
    assert out["secondAfter"]["data"] is None
    assert error(out["oldPassword"]) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert out["newPassword"] == {"status": 200, "code": None, "email": out["email"]}


def test_password_reset_through_the_outbox(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "password-reset")

    accepted = {"status": 200, "ok": True, "code": None, "data": {"status": True, "message": RESET_MESSAGE}}
    assert out["request"] == accepted
    assert out["requestUnknown"] == accepted  # no account enumeration
    assert out["mailsTo"] == [out["email"]]  # and no mail to the unknown address

    token = out["token"]
    assert token and re.fullmatch(r"[A-Za-z0-9]{24}", token)
    url = urlsplit(out["mail"]["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{live_server.auth_url}/reset-password/{token}"
    assert parse_qs(url.query)["callbackURL"] == ["/reset"]
    assert out["mail"]["textHasUrl"]

    assert out["link"] == {"status": 302, "location": f"{live_server.url}/reset?token={token}"}
    assert out["badLink"]["status"] == 302
    assert parse_qs(urlsplit(out["badLink"]["location"]).query)["error"] == ["INVALID_TOKEN"]

    assert out["reset"] == {"status": 200, "ok": True, "code": None, "data": {"status": True}}
    assert out["newPassword"] == {"status": 200, "code": None, "email": out["email"]}
    assert error(out["oldPassword"]) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert error(out["reuse"]) == (400, "INVALID_TOKEN")


def test_error_codes_the_client_sees(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "errors")

    assert error(out["duplicate"]) == (422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    assert error(out["duplicateUpper"]) == (422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    assert error(out["wrongPassword"]) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert error(out["unknownEmail"]) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert error(out["shortPassword"]) == (400, "PASSWORD_TOO_SHORT")
    assert out["anonymousSession"] == {"status": 200, "ok": True, "code": None, "data": None}
    assert error(out["anonymousList"]) == (401, "UNAUTHORIZED")
    # Origin rules (CSRF): a trusted second origin works, an unknown one and a cookie without one do not.
    assert error(out["untrustedOrigin"]) == (403, "INVALID_ORIGIN")
    assert error(out["trustedOrigin"]) == (200, None)
    assert error(out["cookieWithoutOrigin"]) == (403, "MISSING_OR_NULL_ORIGIN")


def test_bearer_token_from_set_auth_token(live_server: LiveServer) -> None:  # noqa: F811
    out = run_flow(live_server, "bearer")

    sign_in = out["signIn"]
    assert (sign_in["status"], sign_in["code"]) == (200, None)
    assert sign_in["setAuthToken"].startswith(sign_in["token"] + ".")
    assert "set-auth-token" in sign_in["exposeHeaders"].lower()

    assert out["signed"]["userEmail"] == out["email"]
    assert out["signed"]["sessionToken"] == sign_in["token"]
    assert out["signed"]["user"]["firstname"] == "Ada"
    assert out["raw"]["userEmail"] == out["email"]  # the unsigned token is accepted too
    assert out["tampered"] == {"status": 200, "ok": True, "code": None, "data": None}
    assert out["noAuth"]["data"] is None
    assert out["signOut"] == {"status": 200, "ok": True, "code": None, "data": {"success": True}}
    assert out["afterSignOut"]["data"] is None
