"""Origin/CSRF checks and redirect-target checks (better-auth §2.1, OWASP CSRF and redirect sheets)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask, jsonify, request

from app.core.errors import ApiError, register_error_handlers
from app.modules.auth.origin import (
    TrustedOrigins,
    check_callback_fields,
    check_redirect_url,
    check_request_origin,
    is_safe_relative_url,
)
from config import load_settings
from tests.jsenv import JS_DIR, js_module

BASE = "http://localhost:5000"
TRUSTED = TrustedOrigins(
    [BASE, "https://app.example.org", "*.example.com", "https://*.preview.dev", "myapp://", "exp://host/cb", "10.0.*.*"]
)


def forbidden(code: str, message: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(ApiError) as caught:
        fn(*args, **kwargs)
    assert (caught.value.status, caught.value.code, caught.value.message) == (403, code, message)


# -- trusted origins ------------------------------------------------------------------------


def test_from_settings_trusts_the_base_url_and_the_configured_origins() -> None:
    settings = load_settings(
        {
            "APP_ENV": "testing",
            "AUTH__BASE_URL": "https://api.example.net/prefix",
            "AUTH__TRUSTED_ORIGINS": "https://spa.example.io/, *.corp.test",
        }
    )
    trusted = TrustedOrigins.from_settings(settings)
    assert trusted.is_trusted("https://api.example.net")
    assert trusted.is_trusted("https://spa.example.io")
    assert trusted.is_trusted("https://x.corp.test")
    assert not trusted.is_trusted("https://example.net")


def test_for_app_is_built_once_from_the_app_settings() -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "AUTH__BASE_URL": "http://localhost:8000"})
    trusted = TrustedOrigins.for_app(app)
    assert trusted is TrustedOrigins.for_app(app)
    assert trusted.is_trusted("http://localhost:8000")
    assert not trusted.is_trusted("http://localhost:5000")


@pytest.mark.parametrize(
    "url",
    [
        BASE,
        f"{BASE}/dashboard?x=1#y",
        "HTTP://LOCALHOST:5000",
        "https://app.example.org",
        "https://app.example.org:443/path",
        "https://a.example.com",
        "http://a.b.example.com",
        "https://pr-1.preview.dev",
        "myapp://anything/at/all",
        "exp://host/cb",
        "exp://host/cb/deeper?x=1",
        "http://10.0.3.4",
    ],
)
def test_trusted(url: str) -> None:
    assert TRUSTED.is_trusted(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost",  # other port
        "https://localhost:5000",  # other scheme
        "http://app.example.org",  # other scheme than configured
        "https://app.example.org.evil.com",
        "https://evil.com",
        "https://example.com.evil.com",
        "http://pr-1.preview.dev",  # the scheme is pinned
        "https://preview.dev.evil.com",
        "exp://host/cbx",
        "exp://host/cb/../evil",
        "exp://host/cb/%2e%2e/evil",
        "exp://other/cb",
        "otherapp://x",
        "http://10.0.evil.com",  # an IPv4 pattern admits only IPv4 hosts
        "null",
        "",
        "/dashboard",  # relative paths are not origins
    ],
)
def test_untrusted(url: str) -> None:
    assert not TRUSTED.is_trusted(url)


# Cases where we answer exactly as better-auth's matchesOriginPattern does.
AGREED = [
    ("http://localhost:5000/x", BASE),
    ("http://localhost:5001", BASE),
    ("https://a.example.com", "*.example.com"),
    ("https://a.b.example.com", "*.example.com"),
    ("https://a.example.com:8080", "*.example.com"),
    ("https://example.com", "*.example.com"),
    ("https://evilexample.com", "*.example.com"),
    ("https://a.preview.dev", "https://*.preview.dev"),
    ("http://a.preview.dev", "https://*.preview.dev"),
    ("myapp://x/y", "myapp://"),
    ("exp://host/cb/z", "exp://host/cb"),
    ("exp://host/cbz", "exp://host/cb"),
    ("exp://host/cb/../evil", "exp://host/cb"),
    ("http://192.168.1.9", "192.168.*.*"),
    ("http://192.168.evil.com", "192.168.*.*"),
    ("javascript:alert(1)", BASE),
    ("data:text/html,hi", BASE),
]
# Cases where we are deliberately stricter (better-auth trusts them, we do not).
STRICTER = [
    ("http:localhost:5000", BASE),
    ("http://user@localhost:5000", BASE),
    ("http://localhost:5000\\@evil.com", BASE),
    # a host-only pattern must not admit other schemes: this one is script execution on redirect
    ("javascript://a.example.com/%0aalert(1)", "*.example.com"),
    ("ftp://a.example.com", "*.example.com"),
]


@pytest.mark.node
def test_agrees_with_better_auths_matcher_and_is_stricter_only_where_documented() -> None:
    assert shutil.which("node"), "node is needed (scripts/test.sh installs it)"
    module = js_module("better-auth", "dist", "auth", "trusted-origins.mjs")
    script = (
        f"import {{ matchesOriginPattern }} from {json.dumps(module.as_uri())};"
        "console.log(JSON.stringify(JSON.parse(process.argv[1]).map(([u, p]) => matchesOriginPattern(u, p))));"
    )
    cases = AGREED + STRICTER
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=JS_DIR,
    )
    theirs = json.loads(result.stdout)
    ours = [TrustedOrigins([pattern]).is_trusted(url) for url, pattern in cases]
    assert ours[: len(AGREED)] == theirs[: len(AGREED)]
    assert theirs[len(AGREED) :] == [True] * len(STRICTER)
    assert ours[len(AGREED) :] == [False] * len(STRICTER)


# -- request origin (CSRF) -------------------------------------------------------------------

APP = Flask(__name__)


def check(
    method: str = "POST", headers: dict[str, str] | None = None, form_csrf: bool = False, host: str = "localhost:5000"
) -> None:
    with APP.test_request_context("/api/v1/auth/x", method=method, headers=headers or {}, base_url=f"http://{host}"):
        check_request_origin(request, TRUSTED, form_csrf=form_csrf)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_never_checked(method: str) -> None:
    check(method, {"Cookie": "a=b", "Origin": "https://evil.com"}, form_csrf=True)
    check(method, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, form_csrf=True)


def test_cookie_post_without_origin_is_refused() -> None:
    forbidden("MISSING_OR_NULL_ORIGIN", "Missing or null Origin", check, headers={"Cookie": "a=b"})


def test_cookie_post_with_null_origin_is_refused() -> None:
    forbidden("MISSING_OR_NULL_ORIGIN", "Missing or null Origin", check, headers={"Cookie": "a=b", "Origin": "null"})


def test_cookie_post_with_untrusted_origin_is_refused() -> None:
    forbidden("INVALID_ORIGIN", "Invalid origin", check, headers={"Cookie": "a=b", "Origin": "https://evil.com"})


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_cookie_request_with_trusted_origin_passes(method: str) -> None:
    check(method, {"Cookie": "a=b", "Origin": BASE})


def test_referer_stands_in_for_a_missing_origin() -> None:
    check(headers={"Cookie": "a=b", "Referer": f"{BASE}/login?next=/x"})
    forbidden("INVALID_ORIGIN", "Invalid origin", check, headers={"Cookie": "a=b", "Referer": "https://evil.com/p"})


def test_origin_wins_over_referer() -> None:
    forbidden(
        "INVALID_ORIGIN",
        "Invalid origin",
        check,
        headers={"Cookie": "a=b", "Origin": "https://evil.com", "Referer": f"{BASE}/"},
    )


def test_null_origin_from_the_same_origin_is_inferred_from_the_request() -> None:
    check(headers={"Cookie": "a=b", "Origin": "null", "Sec-Fetch-Site": "same-origin"})
    forbidden(
        "INVALID_ORIGIN",
        "Invalid origin",
        check,
        headers={"Cookie": "a=b", "Origin": "null", "Sec-Fetch-Site": "same-origin"},
        host="evil.com",
    )


def test_post_without_cookie_is_not_checked_outside_sign_in() -> None:
    check(headers={"Origin": "https://evil.com"})
    check(headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})


def test_sign_in_blocks_cross_site_navigation() -> None:
    forbidden(
        "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
        "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
        check,
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Origin": BASE},
        form_csrf=True,
    )


def test_sign_in_from_a_browser_needs_a_trusted_origin() -> None:
    # node's fetch sends Sec-Fetch-Mode: cors and no Origin
    forbidden(
        "MISSING_OR_NULL_ORIGIN", "Missing or null Origin", check, headers={"Sec-Fetch-Mode": "cors"}, form_csrf=True
    )
    forbidden(
        "INVALID_ORIGIN",
        "Invalid origin",
        check,
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Origin": "https://evil.com"},
        form_csrf=True,
    )
    check(headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": BASE}, form_csrf=True)


def test_sign_in_with_an_untrusted_origin_and_no_fetch_metadata_is_refused() -> None:
    forbidden("INVALID_ORIGIN", "Invalid origin", check, headers={"Origin": "https://evil.com"}, form_csrf=True)
    forbidden("INVALID_ORIGIN", "Invalid origin", check, headers={"Referer": "https://evil.com/"}, form_csrf=True)
    check(headers={"Origin": BASE}, form_csrf=True)


def test_sign_in_without_any_header_passes() -> None:
    check(form_csrf=True)


def test_sign_in_with_a_cookie_follows_the_cookie_rule() -> None:
    forbidden("MISSING_OR_NULL_ORIGIN", "Missing or null Origin", check, headers={"Cookie": "a=b"}, form_csrf=True)
    check(headers={"Cookie": "a=b", "Origin": BASE}, form_csrf=True)


def test_the_refusal_is_rendered_as_a_403_json_error() -> None:
    app = Flask(__name__)
    register_error_handlers(app)

    @app.post("/api/v1/auth/sign-out")
    def sign_out() -> Any:
        check_request_origin(request, TRUSTED)
        return jsonify(success=True)

    client = app.test_client()
    client.set_cookie("session", "x")
    response = client.post("/api/v1/auth/sign-out", headers={"Origin": "https://evil.com"})
    assert response.status_code == 403
    assert response.get_json() == {"code": "INVALID_ORIGIN", "message": "Invalid origin"}
    assert client.post("/api/v1/auth/sign-out", headers={"Origin": BASE}).status_code == 200


# -- redirect targets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/",
        "/dashboard",
        "/a/b?next=/c&x=//y#frag",
        "/path with space",
        f"{BASE}/welcome",
        "https://a.example.com/x",
        "myapp://done",
    ],
)
def test_safe_redirects_pass(url: str | None) -> None:
    check_redirect_url(url, TRUSTED, "INVALID_CALLBACK_URL")


OPEN_REDIRECTS = [
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "/%2fevil.com",
    "/%2Fevil.com",
    "/%5cevil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    " //evil.com",
    "https:evil.com",
    "https:/evil.com",
    "http:/\\evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(document.domain)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "http://localhost:5000@evil.com",
    "http://localhost:5000:@evil.com/",
    "http://user:pass@localhost:5000/",
    "http://evil.com#@localhost:5000",
    "http://evil.com?@localhost:5000",
    "http://evil.com\\@localhost:5000",
    "http://localhost:5000.evil.com",
    "https://localhost:5000",
    "evil.com",
    "evil.com/localhost:5000",
    "https://evil.com/?https://app.example.org",
    "javascript://a.example.com/%0aalert(1)",
]


@pytest.mark.parametrize("url", OPEN_REDIRECTS)
def test_open_redirect_bypasses_are_refused(url: str) -> None:
    forbidden("INVALID_CALLBACK_URL", "Invalid callbackURL", check_redirect_url, url, TRUSTED, "INVALID_CALLBACK_URL")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("INVALID_CALLBACK_URL", "Invalid callbackURL"),
        ("INVALID_REDIRECT_URL", "Invalid redirectURL"),
        ("INVALID_ERROR_CALLBACK_URL", "Invalid errorCallbackURL"),
        ("INVALID_NEW_USER_CALLBACK_URL", "Invalid newUserCallbackURL"),
    ],
)
def test_each_code_carries_better_auths_message(code: str, message: str) -> None:
    forbidden(code, message, check_redirect_url, "https://evil.com", TRUSTED, code)


def test_safe_relative_url_rules() -> None:
    assert is_safe_relative_url("/ok")
    for bad in ("ok", "//x", "/\\x", "/%2f/x", "/\x00x", "https://x"):
        assert not is_safe_relative_url(bad)


def test_callback_fields_are_all_checked_with_their_own_code() -> None:
    good = {"callbackURL": "/a", "redirectTo": "/b", "errorCallbackURL": "/c", "newUserCallbackURL": "/d"}
    check_callback_fields(good, {}, TRUSTED)
    for field, code in [
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("redirectTo", "INVALID_REDIRECT_URL"),
        ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
    ]:
        with pytest.raises(ApiError) as caught:
            check_callback_fields({**good, field: "//evil.com"}, {}, TRUSTED)
        assert caught.value.code == code


def test_callback_url_is_also_read_from_the_query() -> None:
    forbidden(
        "INVALID_CALLBACK_URL", "Invalid callbackURL", check_callback_fields, {}, {"callbackURL": "//evil.com"}, TRUSTED
    )
    check_callback_fields({}, {"callbackURL": "/fine", "redirectTo": "//ignored-in-query"}, TRUSTED)


def test_a_non_string_redirect_is_a_validation_error() -> None:
    with pytest.raises(ApiError) as caught:
        check_redirect_url(["//evil.com"], TRUSTED, "INVALID_CALLBACK_URL")  # type: ignore[arg-type]
    assert caught.value.status == 400
