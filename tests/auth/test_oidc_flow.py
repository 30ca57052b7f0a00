"""Keycloak federation through the whole redirect flow, against a real OpenID provider (node oidc-provider)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import symmetric_decrypt
from app.modules.auth.models import Account, User, Verification
from tests.conftest import TEST_SECRET
from tests.oidc.browser import location, query_of
from tests.oidc.provider import oidc_provider  # noqa: F401 - fixture
from tests.oidc.server import OidcServer, OidcServerFactory, make_oidc_server  # noqa: F401 - fixture

pytestmark = pytest.mark.node


def account(
    sub: str,
    email: str,
    *,
    verified: bool = True,
    roles: list[str] | None = None,
    flat_roles: list[str] | None = None,
    groups: list[str] | None = None,
    given: str = "Ada",
    family: str = "Lovelace",
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "given_name": given,
        "family_name": family,
        "name": f"{given} {family}",
        "picture": f"https://img.example.com/{sub}.png",
        "preferred_username": sub,
    }
    if roles is not None:
        claims["realm_access"] = {"roles": roles}
    if flat_roles is not None:
        claims["realm_roles"] = flat_roles
    if groups is not None:
        claims["groups"] = groups
    return claims


def user_row(server: OidcServer, email: str) -> User:
    with server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        db.session.expunge(user)
        return user


def keycloak_account(server: OidcServer, user_id: str) -> Account | None:
    with server.app.app_context():
        row = db.session.scalar(select(Account).where(Account.user_id == user_id, Account.provider_id == "keycloak"))
        if row is not None:
            db.session.expunge(row)
        return row


@pytest.fixture
def server(make_oidc_server: OidcServerFactory) -> OidcServer:  # noqa: F811
    return make_oidc_server()


# -- starting the flow -----------------------------------------------------------------------


def test_sign_in_social_answers_the_authorize_url_with_pkce_nonce_and_a_bound_state(server: OidcServer) -> None:
    browser = server.browser()
    response = browser.start()
    assert response.status_code == 200
    body = response.json()
    assert body["redirect"] is True
    assert response.headers["Location"] == body["url"]
    assert body["url"].startswith(f"{server.provider.issuer}/auth?")
    params = query_of(body["url"])
    assert params["response_type"] == "code"
    assert params["client_id"] == server.client_id
    assert params["redirect_uri"] == f"{server.auth_url}/callback/keycloak"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43 and len(params["nonce"]) == 32 and len(params["state"]) == 32
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    cookie = next(c for c in response.raw.headers.getlist("Set-Cookie") if c.startswith("better-auth.state="))
    assert "Max-Age=300" in cookie and "HttpOnly" in cookie
    with server.app.app_context():
        identifiers = list(db.session.scalars(select(Verification.identifier)))
    # Stored hashed: the state itself is nowhere in the table.
    assert identifiers == ["auth-state:" + hashlib.sha256(params["state"].encode()).hexdigest()]


def test_untrusted_redirect_targets_are_refused_before_anything_is_stored(server: OidcServer) -> None:
    browser = server.browser()
    for field, code in (
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
    ):
        response = browser.start(**{field: "https://evil.example.com/x"})
        assert response.status_code == 403 and response.json()["code"] == code
    with server.app.app_context():
        assert db.session.scalar(select(Verification.id)) is None


def test_an_unknown_provider_is_not_found(server: OidcServer) -> None:
    response = server.browser().start(provider="github")
    assert response.status_code == 404 and response.json()["code"] == "PROVIDER_NOT_FOUND"


def test_disabled_federation_has_no_provider(make_oidc_server: OidcServerFactory) -> None:  # noqa: F811
    server = make_oidc_server(KEYCLOAK__ENABLED="false")
    response = server.browser().start()
    assert response.status_code == 404 and response.json()["code"] == "PROVIDER_NOT_FOUND"


# -- identity only (map_roles=false, map_groups=false) ------------------------------------------


def test_new_user_gets_the_profile_and_the_apps_default_role(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "Ada@Example.com", roles=["admin"], groups=["/admins"])})
    browser = server.browser()
    response = browser.sign_in("ada")
    assert location(response) == "/welcome"  # newUserCallbackURL for a new user
    assert "better-auth.state=;" in response.headers["Set-Cookie"]
    user = browser.get_session()["user"]
    assert user["email"] == "ada@example.com"
    assert user["emailVerified"] is True
    assert user["name"] == "Ada Lovelace"
    assert (user["firstname"], user["lastname"]) == ("Ada", "Lovelace")
    assert user["image"] == "https://img.example.com/kc-ada.png"
    assert user["role"] == "user"  # Keycloak's roles are ignored in this mode

    row = keycloak_account(server, user["id"])
    assert row is not None and row.account_id == "kc-ada"
    assert row.scope is not None and set(row.scope.split(",")) == {"openid", "email", "profile"}
    assert row.access_token_expires_at is not None
    for stored in (row.access_token, row.id_token):
        assert stored is not None and "." not in stored  # hex ciphertext, not a JWT or token in clear
        assert symmetric_decrypt(stored, TEST_SECRET)
    assert symmetric_decrypt(str(row.id_token), TEST_SECRET).count(".") == 2


def test_returning_user_goes_to_callback_url_and_keeps_the_role_the_app_gave(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", roles=["admin"])})
    first = server.browser()
    first.sign_in("ada")
    user_id = first.get_session()["user"]["id"]
    with server.app.app_context():
        db.session.get(User, user_id).role = "editor"
        db.session.commit()
    response = server.browser().sign_in("ada")
    assert location(response) == "/dashboard"
    assert user_row(server, "ada@example.com").role == "editor"


def test_given_and_family_names_follow_the_provider(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    server.browser().sign_in("ada")
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com", given="Augusta", family="King")})
    browser = server.browser()
    browser.sign_in("ada")
    user = browser.get_session()["user"]
    assert (user["firstname"], user["lastname"]) == ("Augusta", "King")


def test_legacy_generic_oauth_paths_work(server: OidcServer) -> None:
    server.provider.set_accounts({"ada": account("kc-ada", "ada@example.com")})
    browser = server.browser()
    started = browser.start("/sign-in/oauth2")
    assert started.status_code == 200
    url = started.json()["url"]
    assert query_of(url)["redirect_uri"] == f"{server.auth_url}/oauth2/callback/keycloak"
    callback = browser.to_callback(url, "ada")
    assert callback.startswith(f"{server.auth_url}/oauth2/callback/keycloak?")
    assert location(browser.callback(callback)) == "/welcome"
    assert browser.get_session()["user"]["email"] == "ada@example.com"


def test_form_post_callback_comes_back_as_a_get_with_the_same_parameters(server: OidcServer) -> None:
    browser = server.browser()
    response = browser.session.post(
        f"{server.auth_url}/callback/keycloak",
        data={"code": "c0de", "state": "st4te", "iss": "http://x"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    target = location(response)
    assert target.startswith(f"{server.auth_url}/callback/keycloak?")
    assert query_of(target) == {"code": "c0de", "state": "st4te", "iss": "http://x"}
