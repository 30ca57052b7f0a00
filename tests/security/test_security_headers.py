"""Every HTML answer carries the security headers, error pages included (issue 14 item 5).

OWASP HTTP Headers Cheat Sheet / Secure Headers Project: a ``Content-Security-Policy`` with
``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for older browsers: clickjacking),
``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``. The Scalar reference page loads a
self-hosted bundle with a Subresource Integrity hash by default, a CDN only when configured.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from flask import Flask

from app.modules.auth.scalar_bundle import FILE, SHA384, URL_PATH

HTML_PAGES = {
    "home": "/",
    "sign-in page": "/sign-in",
    "API reference": "/api/v1/auth/reference",
    "auth error page": "/api/v1/auth/error?error=state_mismatch",
    "auth error page, no code": "/api/v1/auth/error",
    "unknown page (HTML 404)": "/no-such-page",
}


def _assert_secure(response: Any) -> dict[str, str]:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split(" ", 1)[0]: d for d in (p.strip() for p in csp.split(";")) if d}
    assert "frame-ancestors" in directives and directives["frame-ancestors"] == "frame-ancestors 'none'", csp
    assert "default-src" in directives and directives["default-src"] == "default-src 'none'", csp
    assert "'unsafe-eval'" not in csp
    assert directives["base-uri"] == "base-uri 'none'"
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    return directives


@pytest.mark.parametrize("page", list(HTML_PAGES))
def test_every_html_page_has_the_security_headers(app: Flask, page: str) -> None:
    response = app.test_client().get(HTML_PAGES[page], headers={"Accept": "text/html"})
    assert response.mimetype == "text/html", (response.status_code, response.mimetype)
    _assert_secure(response)


def test_json_answers_are_not_sniffed(app: Flask) -> None:
    response = app.test_client().get("/api/v1/healthz")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


def _script_tag(html: str) -> str:
    tags = re.findall(r"<script [^>]*src=[^>]*>", html)
    assert len(tags) == 1, tags
    return tags[0]


def test_the_reference_loads_the_self_hosted_bundle_with_its_integrity_hash(app: Flask) -> None:
    assert FILE.is_file(), "scripts/fetch_scalar.sh fetches the bundle (scripts/setup.sh runs it)"
    client = app.test_client()
    page = client.get("/api/v1/auth/reference")
    tag = _script_tag(page.get_data(as_text=True))
    assert f'src="{URL_PATH}"' in tag and f'integrity="{SHA384}"' in tag and 'crossorigin="anonymous"' in tag
    directives = _assert_secure(page)
    assert directives["script-src"] == "script-src 'self'"

    bundle = client.get(URL_PATH)
    assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"
    digest = "sha384-" + base64.b64encode(hashlib.sha384(bundle.get_data()).digest()).decode()
    assert digest == SHA384
    assert bundle.headers["X-Content-Type-Options"] == "nosniff"


def test_the_cdn_stays_an_option(make_app: Any) -> None:
    url = "https://cdn.example.com/npm/@scalar/api-reference@1.72.1/dist/browser/standalone.js"
    app = make_app(OPENAPI__SCALAR_SCRIPT_URL=url, OPENAPI__SCALAR_SCRIPT_INTEGRITY=SHA384)
    page = app.test_client().get("/api/v1/auth/reference")
    tag = _script_tag(page.get_data(as_text=True))
    assert f'src="{url}"' in tag and f'integrity="{SHA384}"' in tag
    directives = _assert_secure(page)
    assert directives["script-src"] == "script-src https://cdn.example.com"
