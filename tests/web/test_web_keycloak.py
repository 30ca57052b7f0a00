"""The Keycloak button of the sign-in page, against a real OpenID provider (``oidc-provider``).

The provider's login step is driven over HTTP (its interactions answer JSON), the app's side is
the page: the button's form, its CSRF token, the redirect to the provider, and the return to the
``next`` page signed in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.auth.test_oidc_flow import account
from tests.oidc.browser import Browser
from tests.oidc.provider import oidc_provider  # noqa: F401 - fixture
from tests.oidc.server import OidcServerFactory, make_oidc_server  # noqa: F401 - fixture

pytestmark = pytest.mark.node


def test_the_keycloak_button_signs_in_and_returns_to_next(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    server = make_oidc_server()
    server.provider.set_accounts({"kim": account("kc-kim", "kim@example.com")})
    browser = Browser(app_url=server.url, issuer=server.provider.issuer)
    page = browser.session.get(f"{server.url}/sign-in?next=/account/security", timeout=10).text
    assert "Sign in with Keycloak" in page
    form = page.split('action="/sign-in/keycloak"', 1)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    nxt = re.search(r'name="next" value="([^"]+)"', form)
    assert token and nxt and nxt.group(1) == "/account/security"
    refused = browser.session.post(f"{server.url}/sign-in/keycloak", data={"next": "/"}, allow_redirects=False,
                                   timeout=10)
    assert refused.status_code == 400  # no form token, no redirect to the provider
    started = browser.session.post(f"{server.url}/sign-in/keycloak",
                                   data={"csrf_token": token.group(1), "next": nxt.group(1)},
                                   allow_redirects=False, timeout=10)
    assert started.status_code == 303
    assert started.headers["Location"].startswith(f"{server.provider.issuer}/auth?")
    assert "better-auth.state=" in started.headers["Set-Cookie"]
    back = browser.callback(browser.to_callback(started.headers["Location"], "kim"))
    assert back.headers["Location"] == "/account/security"
    security = browser.session.get(f"{server.url}/account/security", allow_redirects=False, timeout=10)
    assert security.status_code == 200 and "Where you are signed in" in security.text
    assert browser.get_session()["user"]["email"] == "kim@example.com"


def test_no_keycloak_button_when_federation_is_off(make_app: Any) -> None:
    client = make_app().test_client()
    assert "Keycloak" not in client.get("/sign-in").text
    assert client.post("/sign-in/keycloak").status_code == 400  # the form token first, as every POST
