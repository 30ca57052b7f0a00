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


# -- link-social -------------------------------------------------------------------------------


def password_user(server: OidcServer, email: str = "ada@example.com") -> Browser:
    browser = server.browser()
    response = browser.session.post(
        f"{browser.auth_url}/sign-up/email",
        json={"email": email, "password": "correct horse battery", "name": "Ada"},
        headers={"Origin": browser.app_url}, timeout=10,
    )
    assert response.status_code == 200, response.text
    return browser


def link(browser: Browser, login: str) -> Any:
    started = browser.start("/link-social", callbackURL="/linked", errorCallbackURL="/link-failed")
    assert started.status_code == 200, started.text
    assert started.json()["redirect"] is True and started.headers["Location"] == started.json()["url"]
    return browser.callback(browser.to_callback(started.json()["url"], login))


def test_link_social_links_the_identity_to_the_signed_in_user(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    browser = password_user(server)
    session_before = browser.get_session()["session"]["id"]

    response = link(browser, "ada")

    assert response.headers["Location"] == f"{server.url}/linked" or response.headers["Location"] == "/linked"
    assert "better-auth.session_token" not in response.headers.get("Set-Cookie", "")  # no new session
    assert browser.get_session()["session"]["id"] == session_before
    accounts = browser.session.get(f"{browser.auth_url}/list-accounts", timeout=10).json()
    assert sorted(a["providerId"] for a in accounts) == ["credential", "keycloak"]
    keycloak_id = next(a["id"] for a in accounts if a["providerId"] == "keycloak")
    assert post(browser, "/get-access-token", {"accountId": keycloak_id}).status_code == 200
    # linked again: the same account, tokens refreshed
    assert "error" not in link(browser, "ada").headers["Location"]
    assert len(browser.session.get(f"{browser.auth_url}/list-accounts", timeout=10).json()) == 2
    # and the identity now signs Ada in
    other = server.browser()
    other.sign_in("ada")
    assert other.get_session()["user"]["email"] == "ada@example.com"


def fresh_browser(server: OidcServer, email: str = "ada@example.com") -> Browser:
    """A new user agent (no session at the provider yet) signed in with the password."""
    browser = server.browser()
    response = browser.session.post(
        f"{browser.auth_url}/sign-in/email", json={"email": email, "password": "correct horse battery"},
        headers={"Origin": browser.app_url}, timeout=10,
    )
    assert response.status_code == 200, response.text
    return browser


def test_link_social_refusals(server: OidcServer) -> None:
    server.provider.set_accounts({
        "ada": account("kc-ada", "ada@example.com"),
        "eve": account("kc-eve", "eve@example.com"),
        "unverified": account("kc-unverified", "ada@example.com", verified=False),
    })
    password_user(server)
    assert "error=email_does_not_match" in link(fresh_browser(server), "eve").headers["Location"]
    assert "error=unable_to_link_account" in link(fresh_browser(server), "unverified").headers["Location"]
    # the session that asked is gone by the time the provider answers
    browser = fresh_browser(server)
    started = browser.start("/link-social", callbackURL="/linked", errorCallbackURL="/link-failed")
    callback_url = browser.to_callback(started.json()["url"], "ada")
    assert post(browser, "/sign-out", {}).status_code == 200
    assert "error=unable_to_link_account" in browser.callback(callback_url).headers["Location"]
    accounts_of_ada = fresh_browser(server).session
    listed = accounts_of_ada.get(f"{server.auth_url}/list-accounts", timeout=10).json()
    assert [a["providerId"] for a in listed] == ["credential"]


def test_link_social_to_an_identity_of_another_user(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    server.browser().sign_in("ada")  # kc-ada signs up Ada through Keycloak
    # Bob takes over the address Ada signed up with (Ada's own user moves to another): the identity
    # still belongs to Ada's user, so Bob, with the matching email, cannot have it
    password_user(server, "bob@example.com")
    with server.app.app_context():
        from app.modules.auth.models import User

        row = db.session.scalar(select(Account).where(Account.account_id == "kc-ada"))
        bob_user = db.session.scalar(select(User).where(User.email == "bob@example.com"))
        assert row is not None and bob_user is not None
        ada_user_id = row.user_id
        bob_user.email, ada_email = "bob-old@example.com", "ada@example.com"
        db.session.commit()
        ada = db.session.get(User, ada_user_id)
        assert ada is not None
        ada.email = "ada-old@example.com"
        db.session.commit()
        bob_user.email = ada_email
        db.session.commit()
    # Bob's session email was bob@: sign in again so the link carries his current email
    bob = fresh_browser(server, "ada@example.com")
    assert "error=account_already_linked_to_different_user" in link(bob, "ada").headers["Location"]


def test_link_social_needs_a_session_and_a_known_provider(server: OidcServer) -> None:
    anonymous = server.browser().start("/link-social")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHORIZED")
    browser = password_user(server)
    unknown = browser.start("/link-social", provider="github")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "PROVIDER_NOT_FOUND")
    id_token = browser.start("/link-social", idToken={"token": "x"})
    assert (id_token.status_code, id_token.json()["code"]) == (404, "ID_TOKEN_NOT_SUPPORTED")
