"""A Keycloak account's tokens through better-auth's routes, against a real OpenID provider
(node oidc-provider): get-access-token, refresh-token (a refresh grant at the provider),
account-info (UserInfo) and unlink-account."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import symmetric_decrypt
from app.modules.auth.models import Account
from tests.auth.test_oidc_flow import account
from tests.conftest import TEST_SECRET
from tests.oidc.browser import Browser
from tests.oidc.provider import oidc_provider  # noqa: F401 - fixture
from tests.oidc.server import OidcServer, OidcServerFactory, make_oidc_server  # noqa: F401 - fixture

pytestmark = pytest.mark.node


@pytest.fixture
def server(make_oidc_server: OidcServerFactory) -> OidcServer:  # noqa: F811
    return make_oidc_server()


def signed_in(server: OidcServer) -> tuple[Browser, str]:
    """Ada signed in through Keycloak; returns her browser and her Keycloak account's id."""
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    browser = server.browser()
    browser.sign_in("ada")
    accounts = browser.session.get(f"{browser.auth_url}/list-accounts", timeout=10).json()
    (keycloak,) = [a for a in accounts if a["providerId"] == "keycloak"]
    return browser, keycloak["id"]


def post(browser: Browser, path: str, body: dict[str, Any]) -> Any:
    return browser.session.post(f"{browser.auth_url}{path}", json=body, headers={"Origin": browser.app_url}, timeout=10)


def stored(server: OidcServer, account_id: str) -> Account:
    with server.app.app_context():
        row = db.session.scalar(select(Account).where(Account.id == account_id))
        assert row is not None
        db.session.expunge(row)
        return row


def test_get_access_token_answers_the_providers_token(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    response = post(browser, "/get-access-token", {"accountId": account_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "accessTokenExpiresAt", "scopes", "idToken"}
    row = stored(server, account_id)
    assert body["accessToken"] == symmetric_decrypt(row.access_token or "", TEST_SECRET)
    assert row.access_token != body["accessToken"]  # encrypted at rest
    assert body["idToken"].count(".") == 2
    assert "openid" in body["scopes"]
    # the token works at the provider
    userinfo = browser.session.get(
        f"{server.provider.issuer}/me", headers={"Authorization": f"Bearer {body['accessToken']}"}, timeout=10
    )
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == "kc-ada"


def test_refresh_token_refreshes_with_the_provider(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    before = stored(server, account_id)
    old_access = symmetric_decrypt(before.access_token or "", TEST_SECRET)
    old_refresh = symmetric_decrypt(before.refresh_token or "", TEST_SECRET)

    response = post(browser, "/refresh-token", {"accountId": account_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["providerId"] == "keycloak" and body["accountId"] == account_id
    assert body["accessToken"] and body["accessToken"] != old_access
    after = stored(server, account_id)
    assert symmetric_decrypt(after.access_token or "", TEST_SECRET) == body["accessToken"]
    assert body["refreshToken"] == symmetric_decrypt(after.refresh_token or "", TEST_SECRET)
    # oidc-provider does not rotate a confidential client's refresh token: the stored one is kept
    assert body["refreshToken"] == old_refresh
    again = post(browser, "/refresh-token", {"accountId": account_id})
    assert again.status_code == 200 and again.json()["accessToken"] != body["accessToken"]


def test_refresh_failure_at_the_provider_is_one_answer(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    with server.app.app_context():
        row = db.session.get(Account, account_id)
        assert row is not None
        from app.modules.auth.crypto import symmetric_encrypt

        row.refresh_token = symmetric_encrypt("not-a-refresh-token", TEST_SECRET)
        db.session.commit()
    response = post(browser, "/refresh-token", {"accountId": account_id})
    assert (response.status_code, response.json()["code"]) == (400, "FAILED_TO_REFRESH_ACCESS_TOKEN")


def test_account_info_asks_the_providers_userinfo(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    response = browser.session.get(f"{browser.auth_url}/account-info", params={"accountId": account_id}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == {
        "id": "kc-ada", "name": "Ada Lovelace", "email": "ada@example.com",
        "image": "https://img.example.com/kc-ada.png", "emailVerified": True,
    }
    assert body["data"]["sub"] == "kc-ada"
    assert body["account"] == {"id": account_id, "providerId": "keycloak", "accountId": "kc-ada"}


def test_an_expired_access_token_is_refreshed_before_it_is_handed_out(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    with server.app.app_context():
        from datetime import timedelta

        from app.modules.auth.models import utcnow

        row = db.session.get(Account, account_id)
        assert row is not None
        old = symmetric_decrypt(row.access_token or "", TEST_SECRET)
        row.access_token_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    body = post(browser, "/get-access-token", {"accountId": account_id}).json()
    assert body["accessToken"] != old
    assert symmetric_decrypt(stored(server, account_id).access_token or "", TEST_SECRET) == body["accessToken"]


def test_another_users_account_is_not_found(server: OidcServer) -> None:
    _, account_id = signed_in(server)
    other = server.browser()
    other.session.post(
        f"{other.auth_url}/sign-up/email",
        json={"email": "eve@example.com", "password": "correct horse battery", "name": "Eve"},
        headers={"Origin": other.app_url}, timeout=10,
    )
    for path in ("/get-access-token", "/refresh-token"):
        response = post(other, path, {"accountId": account_id})
        assert (response.status_code, response.json()["code"]) == (400, "ACCOUNT_NOT_FOUND")


def test_unlink_keeps_the_last_account(server: OidcServer) -> None:
    browser, account_id = signed_in(server)
    # Ada signed up through Keycloak: her only account
    response = post(browser, "/unlink-account", {"accountId": account_id})
    assert (response.status_code, response.json()["code"]) == (400, "FAILED_TO_UNLINK_LAST_ACCOUNT")
    # with a password too, the Keycloak link can go
    with server.app.app_context():
        from app.modules.auth.crypto import generate_id
        from app.modules.auth.models import utcnow

        row = db.session.get(Account, account_id)
        assert row is not None
        db.session.add(Account(id=generate_id(), account_id=row.user_id, provider_id="credential",
                               user_id=row.user_id, password="x", created_at=utcnow(), updated_at=utcnow()))
        db.session.commit()
    assert post(browser, "/unlink-account", {"accountId": "x" * 32}).json()["code"] == "ACCOUNT_NOT_FOUND"
    response = post(browser, "/unlink-account", {"accountId": account_id})
    assert response.json() == {"status": True}
    accounts = browser.session.get(f"{browser.auth_url}/list-accounts", timeout=10).json()
    assert [a["providerId"] for a in accounts] == ["credential"]
