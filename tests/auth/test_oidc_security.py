"""The flow's defences, each broken on purpose against the real provider: state, code, nonce, iss, PKCE."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import Session
from app.modules.auth.oidc import readiness
from tests.auth.test_oidc_flow import account
from tests.oidc.browser import error_of, location, query_of, with_query
from tests.oidc.provider import oidc_provider  # noqa: F401 - fixture
from tests.oidc.server import OidcServer, OidcServerFactory, make_oidc_server  # noqa: F401 - fixture

pytestmark = pytest.mark.node


@pytest.fixture
def server(make_oidc_server: OidcServerFactory) -> OidcServer:  # noqa: F811
    server = make_oidc_server()
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    return server


def _sessions(server: OidcServer) -> int:
    with server.app.app_context():
        return len(list(db.session.scalars(select(Session.id))))


def _callback_url(server: OidcServer) -> tuple[object, str]:
    browser = server.browser()
    started = browser.start()
    return browser, browser.to_callback(started.json()["url"], "ada")


def test_a_wrong_state_is_refused(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    response = browser.callback(with_query(url, state="x" * 32))  # type: ignore[attr-defined]
    assert location(response) == f"{server.auth_url}/error?error=state_mismatch"
    assert _sessions(server) == 0


def test_a_missing_state_is_refused(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    response = browser.callback(with_query(url, state=None))  # type: ignore[attr-defined]
    assert location(response) == f"{server.auth_url}/error?error=state_not_found"


def test_a_replayed_state_is_refused(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    assert location(browser.callback(url)) == "/welcome"  # type: ignore[attr-defined]
    replay = browser.callback(url)  # type: ignore[attr-defined]
    assert error_of(replay) == "state_mismatch"
    assert _sessions(server) == 1


def test_a_state_from_another_browser_is_refused(server: OidcServer) -> None:
    """Login CSRF: the attacker's callback URL opened in the victim's browser (no state cookie)."""
    _, url = _callback_url(server)
    victim = server.browser()
    response = victim.callback(url)
    assert location(response) == "/oops?error=state_mismatch"
    assert victim.get_session() is None
    assert _sessions(server) == 0


def test_a_replayed_code_is_refused(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    assert location(browser.callback(url)) == "/welcome"  # type: ignore[attr-defined]
    old_code = query_of(url)["code"]
    # A fresh, valid state of this browser, with the spent code.
    started = browser.start()  # type: ignore[attr-defined]
    new_state = query_of(started.json()["url"])["state"]
    response = browser.callback(with_query(url, state=new_state, code=old_code))  # type: ignore[attr-defined]
    assert location(response) == "/oops?error=invalid_code"
    assert _sessions(server) == 1


def test_a_code_issued_for_another_pkce_challenge_is_refused(server: OidcServer) -> None:
    browser = server.browser()
    authorize = browser.start().json()["url"]
    forged = with_query(authorize, code_challenge="A" * 43)  # the verifier we hold no longer fits
    response = browser.callback(browser.to_callback(forged, "ada"))
    assert location(response) == "/oops?error=invalid_code"
    assert _sessions(server) == 0


def test_a_token_for_another_nonce_is_refused(server: OidcServer) -> None:
    browser = server.browser()
    authorize = browser.start().json()["url"]
    forged = with_query(authorize, nonce="n" * 32)  # the provider signs a token for the wrong nonce
    response = browser.callback(browser.to_callback(forged, "ada"))
    assert location(response) == "/oops?error=unable_to_get_user_info"
    assert _sessions(server) == 0


def test_a_wrong_iss_on_the_callback_is_refused(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    assert query_of(url)["iss"] == server.provider.issuer  # the provider sends RFC 9207's iss
    response = browser.callback(with_query(url, iss="https://evil.example.com"))  # type: ignore[attr-defined]
    assert location(response) == "/oops?error=issuer_mismatch"
    assert _sessions(server) == 0


def test_a_missing_iss_is_refused_when_the_provider_advertises_it(server: OidcServer) -> None:
    browser, url = _callback_url(server)
    response = browser.callback(with_query(url, iss=None))  # type: ignore[attr-defined]
    assert location(response) == "/oops?error=issuer_missing"


def test_the_providers_error_is_passed_on(server: OidcServer) -> None:
    browser = server.browser()
    authorize = browser.start().json()["url"]
    response = browser.callback(browser.to_callback(authorize, None))
    assert query_of(location(response))["error"] == "access_denied"
    assert location(response).startswith("/oops?")


def test_a_session_presented_at_sign_in_is_replaced(server: OidcServer) -> None:
    browser = server.browser()
    browser.sign_in("ada")
    old = browser.get_session()["session"]["id"]
    browser.sign_in("ada")
    assert browser.get_session()["session"]["id"] != old
    assert _sessions(server) == 1


def test_readiness_reports_the_discovery_document(server: OidcServer, make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    ok, detail = readiness(server.app)
    assert ok and server.provider.issuer in detail
    down = make_oidc_server(KEYCLOAK__ISSUER="http://127.0.0.1:9/realms/none")
    ok, detail = readiness(down.app)
    assert not ok and "discovery" in detail
    response = down.browser().start()
    assert response.status_code == 503 and response.json()["code"] == "PROVIDER_UNAVAILABLE"
    assert readiness(make_oidc_server(KEYCLOAK__ENABLED="false").app) == (True, "disabled")
