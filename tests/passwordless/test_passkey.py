"""Passkey ceremonies on the server with a software authenticator (real ES256 keys, real CBOR and
signatures): better-auth's ``passkey`` routes and shapes, and the WebAuthn L3 checks (origin, RP
id, single-use challenges, sign counter, backup state, user verification and the second factor)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import User
from app.modules.auth.passkey.models import Passkey
from tests.auth.helpers import ORIGIN, sign_up
from tests.conftest import AppFactory
from tests.live_server import bound_server, serve
from tests.passwordless.authenticator import SoftAuthenticator

ON = {"AUTH__PASSKEY__ENABLED": "true"}
BASE = "/api/v1/auth"
COOKIE = "better-auth.better-auth-passkey"


def get(client: FlaskClient, path: str, **kwargs: Any) -> Any:
    return client.get(BASE + path, headers=ORIGIN, **kwargs)


def post(client: FlaskClient, path: str, body: Any) -> Any:
    return client.post(BASE + path, json=body, headers=ORIGIN)


def code(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["code"]


def register(client: FlaskClient, device: SoftAuthenticator, name: str | None = "laptop") -> Any:
    options = get(client, "/passkey/generate-register-options")
    assert options.status_code == 200, options.json
    return post(client, "/passkey/verify-registration", {"response": device.register(options.json), "name": name})


def authenticate(client: FlaskClient, device: SoftAuthenticator, **bend: Any) -> Any:
    options = get(client, "/passkey/generate-authenticate-options")
    assert options.status_code == 200, options.json
    return post(client, "/passkey/verify-authentication", {"response": device.assertion(options.json, **bend)})


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app(**ON)


def signed_in(app: Flask, email: str = "pk@example.com") -> FlaskClient:
    client = app.test_client()
    sign_up(client, email)
    return client


def device() -> SoftAuthenticator:
    return SoftAuthenticator("http://localhost", "localhost")


def test_routes_answer_404_while_the_plugin_is_off(make_app: AppFactory) -> None:
    client = make_app().test_client()
    assert get(client, "/passkey/generate-authenticate-options").status_code == 404
    assert post(client, "/passkey/verify-authentication", {"response": {}}).status_code == 404


def test_registration_options_in_better_auths_shape(app: Flask) -> None:
    client = signed_in(app)
    response = get(client, "/passkey/generate-register-options")
    options = response.json
    assert list(options) == [
        "challenge",
        "rp",
        "user",
        "pubKeyCredParams",
        "timeout",
        "attestation",
        "excludeCredentials",
        "authenticatorSelection",
        "extensions",
        "hints",
    ]
    assert options["rp"] == {"name": "SaaS foundation", "id": "localhost"}
    assert options["user"]["name"] == options["user"]["displayName"] == "pk@example.com"
    assert len(options["user"]["id"]) == 43 and len(options["challenge"]) == 43
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-8, -7, -257]
    assert options["attestation"] == "none" and options["timeout"] == 60000
    assert options["authenticatorSelection"] == {
        "residentKey": "preferred",
        "userVerification": "preferred",
        "requireResidentKey": False,
    }
    assert options["extensions"] == {"credProps": True} and options["excludeCredentials"] == []
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "="))
    assert "Max-Age=300" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    named = get(client, "/passkey/generate-register-options?name=work&authenticatorAttachment=platform").json
    assert named["user"]["name"] == "work" and named["authenticatorSelection"]["authenticatorAttachment"] == "platform"
    anonymous = get(app.test_client(), "/passkey/generate-register-options")
    assert code(anonymous) == (401, "UNAUTHORIZED")


def test_direct_attestation_is_a_setting(make_app: AppFactory) -> None:
    app = make_app(AUTH__PASSKEY__ATTESTATION="direct", AUTH__PASSKEY__USER_VERIFICATION="required", **ON)
    options = get(signed_in(app), "/passkey/generate-register-options").json
    assert options["attestation"] == "direct"
    assert options["authenticatorSelection"]["userVerification"] == "required"


def test_register_list_rename_delete(app: Flask) -> None:
    client = signed_in(app)
    key = device()
    created = register(client, key)
    assert created.status_code == 200, created.json
    body = created.json
    assert body["name"] == "laptop" and body["credentialID"] == key.id and body["counter"] == 0
    assert body["deviceType"] == "singleDevice" and body["backedUp"] is False and body["transports"] == "internal"
    assert body["aaguid"] == "00000000-0000-0000-0000-000000000000"
    assert set(body) == {
        "id",
        "name",
        "publicKey",
        "userId",
        "credentialID",
        "counter",
        "deviceType",
        "backedUp",
        "transports",
        "createdAt",
        "aaguid",
    }
    listed = get(client, "/passkey/list-user-passkeys").json
    assert [p["id"] for p in listed] == [body["id"]]
    again = get(client, "/passkey/generate-register-options").json
    assert again["excludeCredentials"] == [{"id": key.id, "type": "public-key", "transports": ["internal"]}]
    renamed = post(client, "/passkey/update-passkey", {"id": body["id"], "name": "  phone "})
    assert renamed.status_code == 200 and renamed.json["passkey"]["name"] == "phone"
    assert code(post(client, "/passkey/update-passkey", {"id": body["id"], "name": "  "})) == (400, "VALIDATION_ERROR")

    other = signed_in(app, "other@example.com")
    assert get(other, "/passkey/list-user-passkeys").json == []
    assert code(post(other, "/passkey/update-passkey", {"id": body["id"], "name": "x"})) == (
        401,
        "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
    )
    assert code(post(other, "/passkey/delete-passkey", {"id": body["id"]})) == (401, "UNAUTHORIZED")
    assert code(post(other, "/passkey/delete-passkey", {"id": "nope"})) == (404, "PASSKEY_NOT_FOUND")
    assert post(client, "/passkey/delete-passkey", {"id": body["id"]}).json == {"status": True}
    assert get(client, "/passkey/list-user-passkeys").json == []
    assert code(get(app.test_client(), "/passkey/list-user-passkeys")) == (401, "UNAUTHORIZED")


def test_a_credential_is_registered_once(app: Flask) -> None:
    key = device()
    assert register(signed_in(app), key).status_code == 200
    assert code(register(signed_in(app, "thief@example.com"), key)) == (400, "PREVIOUSLY_REGISTERED")


def test_registration_challenges_are_single_use_bound_and_short_lived(make_app: AppFactory) -> None:
    app = make_app(AUTH__PASSKEY__CHALLENGE_TTL="1", **ON)
    client = signed_in(app)
    key = device()
    options = get(client, "/passkey/generate-register-options").json
    response = key.register(options)
    assert post(client, "/passkey/verify-registration", {"response": response}).status_code == 200
    assert code(post(client, "/passkey/verify-registration", {"response": response})) == (400, "CHALLENGE_NOT_FOUND")
    options = get(client, "/passkey/generate-register-options").json
    time.sleep(1.2)
    late = post(client, "/passkey/verify-registration", {"response": device().register(options)})
    assert code(late) == (400, "CHALLENGE_NOT_FOUND")
    fresh = app.test_client()  # no challenge cookie at all
    sign_up(fresh, "fresh@example.com")
    assert code(post(fresh, "/passkey/verify-registration", {"response": response})) == (400, "CHALLENGE_NOT_FOUND")


def test_registration_refuses_a_wrong_origin_rp_or_challenge(app: Flask) -> None:
    client = signed_in(app)
    for bend in ({"origin": "http://evil.example"}, {"rp_id": "evil.example"}):
        options = get(client, "/passkey/generate-register-options").json
        refused = post(client, "/passkey/verify-registration", {"response": device().register(options, **bend)})
        assert code(refused) == (400, "FAILED_TO_VERIFY_REGISTRATION"), bend
    options = get(client, "/passkey/generate-register-options").json
    options["challenge"] = "A" * 43
    assert code(post(client, "/passkey/verify-registration", {"response": device().register(options)})) == (
        400,
        "FAILED_TO_VERIFY_REGISTRATION",
    )
    options = get(client, "/passkey/generate-register-options").json
    assert code(post(client, "/passkey/verify-registration", {"response": "junk"})) == (
        400,
        "FAILED_TO_VERIFY_REGISTRATION",
    )
    assert get(client, "/passkey/list-user-passkeys").json == []


def test_sign_in_with_a_passkey_is_a_session_like_a_password_sign_in(app: Flask) -> None:
    key = device()
    register(signed_in(app), key)
    browser = app.test_client()
    options = get(browser, "/passkey/generate-authenticate-options").json
    assert list(options) == ["rpId", "challenge", "timeout", "userVerification"]  # discoverable: no allowCredentials
    answer = post(browser, "/passkey/verify-authentication", {"response": key.assertion(options)})
    assert answer.status_code == 200, answer.json
    assert set(answer.json) == {"session", "user"} and answer.json["user"]["email"] == "pk@example.com"
    assert answer.headers["set-auth-token"].startswith(answer.json["session"]["token"] + ".")
    assert get(browser, "/get-session").json["user"]["email"] == "pk@example.com"
    with app.app_context():
        assert db.session.scalar(select(Passkey.counter)) == 1
    # Signed in, the options name the user's own credentials.
    listed = get(browser, "/passkey/generate-authenticate-options").json
    assert listed["allowCredentials"] == [{"id": key.id, "type": "public-key", "transports": ["internal"]}]


def test_assertions_are_refused_for_every_broken_part(app: Flask) -> None:
    key = device()
    register(signed_in(app), key)
    assert authenticate(app.test_client(), key).status_code == 200
    for bend in (
        {"origin": "http://evil.example"},
        {"origin": "http://localhost:5173"},
        {"rp_id": "evil.example"},
        {"counter": 1},
        {"counter": 0},
    ):
        refused = authenticate(app.test_client(), key, **bend)
        assert code(refused) == (401, "AUTHENTICATION_FAILED"), bend
    # A signature by another key over the same credential id.
    impostor = device()
    impostor.credential_id = key.credential_id
    assert code(authenticate(app.test_client(), impostor, counter=50)) == (401, "AUTHENTICATION_FAILED")
    # The challenge is consumed even by a failed attempt; replaying a good assertion fails.
    client = app.test_client()
    options = get(client, "/passkey/generate-authenticate-options").json
    good = key.assertion(options)
    assert post(client, "/passkey/verify-authentication", {"response": good}).status_code == 200
    assert code(post(client, "/passkey/verify-authentication", {"response": good})) == (400, "CHALLENGE_NOT_FOUND")
    unknown = authenticate(app.test_client(), device())
    assert code(unknown) == (401, "PASSKEY_NOT_FOUND")


def test_backup_state_is_followed_and_eligibility_is_fixed(app: Flask) -> None:
    key = SoftAuthenticator("http://localhost", "localhost", backup_eligible=True, backed_up=False)
    created = register(signed_in(app), key).json
    assert (created["deviceType"], created["backedUp"]) == ("multiDevice", False)
    key.backed_up = True
    assert authenticate(app.test_client(), key).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Passkey.backed_up)) is True
    key.backup_eligible = key.backed_up = False
    assert code(authenticate(app.test_client(), key)) == (401, "AUTHENTICATION_FAILED")


def test_user_verification_decides_the_second_factor(app: Flask) -> None:
    client = signed_in(app)
    verified, present_only = device(), SoftAuthenticator("http://localhost", "localhost", user_verified=False)
    register(client, verified)
    register(client, present_only, name="key")
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user is not None
        user.two_factor_enabled = True
        db.session.commit()
    direct = authenticate(app.test_client(), verified)
    assert direct.status_code == 200 and "session" in direct.json
    challenged = authenticate(app.test_client(), present_only)
    assert challenged.json["twoFactorRedirect"] is True and "session" not in challenged.json


def test_a_required_user_verification_refuses_presence_only(make_app: AppFactory) -> None:
    app = make_app(AUTH__PASSKEY__USER_VERIFICATION="required", **ON)
    present_only = SoftAuthenticator("http://localhost", "localhost", user_verified=False)
    assert code(register(signed_in(app), present_only)) == (400, "FAILED_TO_VERIFY_REGISTRATION")


def test_banned_users_cannot_sign_in_with_a_passkey(app: Flask) -> None:
    key = device()
    register(signed_in(app), key)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user is not None
        user.banned = True
        db.session.commit()
    assert code(authenticate(app.test_client(), key)) == (403, "BANNED_USER")


def test_trusted_origins_may_run_ceremonies(make_app: AppFactory) -> None:
    app = make_app(AUTH__TRUSTED_ORIGINS="http://localhost:5173,*.example.com", **ON)
    assert app.extensions["auth.passkey.rp"].origins == ("http://localhost", "http://localhost:5173")
    key = SoftAuthenticator("http://localhost:5173", "localhost")
    assert register(signed_in(app), key).status_code == 200
    assert authenticate(app.test_client(), key).status_code == 200


def test_a_wrong_rp_id_stops_the_start(make_app: AppFactory) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match=r"AUTH__PASSKEY__RP_ID='example\.com' is not the host"):
        make_app(AUTH__PASSKEY__RP_ID="example.com", **ON)


def test_an_ip_address_as_relying_party_is_warned_about(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    make_app(AUTH__BASE_URL="http://127.0.0.1:5000")  # passkeys off: nothing to say
    assert "browsers refuse passkeys" not in caplog.text
    make_app(AUTH__BASE_URL="http://127.0.0.1:5000", **ON)
    assert "AUTH__PASSKEY__ENABLED=true with AUTH__BASE_URL on the IP address 127.0.0.1" in caplog.text


def _finish_in_parallel(url: str, assertion: dict[str, Any], cookie: str, n: int) -> list[int]:
    import requests

    barrier = threading.Barrier(n)

    def finish(_: int) -> int:
        barrier.wait()
        answer = requests.post(
            f"{url}{BASE}/passkey/verify-authentication",
            json={"response": assertion},
            headers={"Origin": "http://localhost"},
            cookies={COOKIE: cookie},
            timeout=30,
        )
        return answer.status_code

    with ThreadPoolExecutor(n) as pool:
        return sorted(pool.map(finish, range(n)))


def test_concurrent_finishes_of_one_ceremony_have_one_winner(app: Flask) -> None:
    import requests

    key = device()
    register(signed_in(app), key)
    with bound_server() as server, serve(server, app) as url:
        for _ in range(3):
            options = requests.get(f"{url}{BASE}/passkey/generate-authenticate-options", timeout=10)
            cookie = options.cookies.get(COOKIE)
            assert cookie
            statuses = _finish_in_parallel(url, key.assertion(options.json()), cookie, 8)
            assert statuses == [200] + [400] * 7, statuses


def test_registration_can_open_a_new_session(app: Flask) -> None:
    client = signed_in(app)
    old = get(client, "/get-session").json["session"]["id"]
    options = get(client, "/passkey/generate-register-options").json
    answer = post(
        client, "/passkey/verify-registration", {"response": device().register(options), "createSession": True}
    )
    assert answer.status_code == 200, answer.json
    assert {"session", "user", "credentialID"} <= set(answer.json)
    assert answer.json["session"]["id"] != old and answer.json["user"]["email"] == "pk@example.com"
    assert get(client, "/get-session").json["session"]["id"] == answer.json["session"]["id"]


def test_adding_a_passkey_needs_a_fresh_session(make_app: AppFactory) -> None:
    app = make_app(AUTH__SESSION__FRESH_AGE="1", **ON)
    client = signed_in(app)
    time.sleep(1.2)
    assert code(get(client, "/passkey/generate-register-options")) == (403, "SESSION_NOT_FRESH")


JUNK: list[Any] = [
    None,
    "x",
    1,
    [],
    {},
    {"id": 1},
    {"id": "AAAA", "response": None},
    {"id": "AAAA", "response": {"clientDataJSON": 5}},
    {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "!!", "attestationObject": "%%"},
    },
    {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA", "attestationObject": "oA"},
    },
]


def test_malformed_credentials_are_4xx_never_500(app: Flask) -> None:
    key = device()
    client = signed_in(app)
    register(client, key)
    for junk in JUNK:
        get(client, "/passkey/generate-register-options")
        answer = post(client, "/passkey/verify-registration", {"response": junk})
        assert 400 <= answer.status_code < 500 and answer.json["code"], (junk, answer.json)
        get(client, "/passkey/generate-authenticate-options")
        payload = {**junk, "id": key.id} if isinstance(junk, dict) else junk
        answer = post(client, "/passkey/verify-authentication", {"response": payload})
        assert 400 <= answer.status_code < 500 and answer.json["code"], (junk, answer.json)
