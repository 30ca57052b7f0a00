"""The jwt plugin (reference §12): ``/token``, ``/jwks``, ``set-auth-jwt``, bearer JWTs on
application routes, and every forged-token case refused (RFC 8725)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from app.extensions import db
from app.modules.auth.crypto import symmetric_decrypt
from app.modules.auth.jwt.models import Jwks
from tests.auth.helpers import bearer, sign_up
from tests.auth.test_api_key_support import API, create_key, key_headers
from tests.conftest import TEST_SECRET

BASE = "http://localhost"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _signed_in(app: Any, email: str = "jwt@example.com") -> tuple[Any, dict[str, Any]]:
    client = app.test_client()
    return client, sign_up(client, email)["user"]


def _token(client: Any) -> str:
    response = client.get(f"{API}/token")
    assert response.status_code == 200, response.json
    token: str = response.json["token"]
    return token


def _me(app: Any, token: str) -> Any:
    return app.test_client().get("/api/v1/me", headers=bearer(token))


def test_token_is_an_eddsa_jwt_of_the_user(make_app: Any) -> None:
    app = make_app()
    client, user = _signed_in(app)
    assert app.test_client().get(f"{API}/token").status_code == 401
    token = _token(client)
    header = pyjwt.get_unverified_header(token)
    keys = client.get(f"{API}/jwks").json["keys"]
    assert header == {"alg": "EdDSA", "kid": keys[0]["kid"]}
    jwk = keys[0]
    assert set(jwk) == {"alg", "crv", "x", "kty", "kid"}
    assert (jwk["alg"], jwk["crv"], jwk["kty"]) == ("EdDSA", "Ed25519", "OKP")
    public = OKPAlgorithm.from_jwk(jwk)
    claims = pyjwt.decode(token, public, algorithms=["EdDSA"], audience=BASE, issuer=BASE)
    assert claims["sub"] == user["id"]
    assert claims["exp"] - claims["iat"] == 900
    assert {k: claims[k] for k in ("id", "email", "name", "role", "emailVerified")} == {
        k: user[k] for k in ("id", "email", "name", "role", "emailVerified")
    }


def test_private_keys_are_encrypted_at_rest(make_app: Any) -> None:
    app = make_app()
    client, _ = _signed_in(app)
    _token(client)
    with app.app_context():
        row = db.session.query(Jwks).one()
        stored = json.loads(row.private_key)  # better-auth: JSON.stringify(<hex ciphertext>)
        assert isinstance(stored, str) and all(c in "0123456789abcdef" for c in stored)
        private = json.loads(symmetric_decrypt(stored, TEST_SECRET))
        assert set(private) == {"kty", "crv", "x", "d"}
        assert private["d"] not in row.private_key and "d" not in json.loads(row.public_key)


def test_get_session_sets_the_jwt_header(make_app: Any) -> None:
    app = make_app()
    client, user = _signed_in(app)
    response = client.get(f"{API}/get-session")
    token = response.headers["set-auth-jwt"]
    assert "set-auth-jwt" in response.headers["Access-Control-Expose-Headers"]
    assert _me(app, token).json["user"]["id"] == user["id"]
    assert "set-auth-jwt" not in app.test_client().get(f"{API}/get-session").headers  # anonymous
    key = create_key(client)["key"]
    assert "set-auth-jwt" not in app.test_client().get(f"{API}/get-session", headers=key_headers(key)).headers


def test_the_header_can_be_turned_off(make_app: Any) -> None:
    app = make_app(AUTH__JWT__SET_HEADER="false")
    client, _ = _signed_in(app)
    assert "set-auth-jwt" not in client.get(f"{API}/get-session").headers
    assert _token(client)


def test_a_jwt_cannot_mint_another_or_manage_keys(make_app: Any) -> None:
    app = make_app()
    client, _ = _signed_in(app)
    token = _token(client)
    anonymous = app.test_client()
    assert anonymous.get(f"{API}/token", headers=bearer(token)).status_code == 401
    assert anonymous.get(f"{API}/api-key/list", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("alg,kty", [("RS256", "RSA"), ("ES256", "EC")])
def test_other_algorithms_are_selectable(make_app: Any, alg: str, kty: str) -> None:
    app = make_app(AUTH__JWT__ALG=alg)
    client, user = _signed_in(app)
    token = _token(client)
    assert pyjwt.get_unverified_header(token)["alg"] == alg
    jwk = client.get(f"{API}/jwks").json["keys"][0]
    assert (jwk["alg"], jwk["kty"]) == (alg, kty)
    assert not {"d", "p", "q"} & set(jwk)
    assert _me(app, token).json["user"]["id"] == user["id"]


def test_forged_tokens_are_refused(make_app: Any) -> None:
    app = make_app()
    client, user = _signed_in(app)
    good = _token(client)
    assert _me(app, good).status_code == 200
    header = pyjwt.get_unverified_header(good)
    claims = pyjwt.decode(good, options={"verify_signature": False})
    jwk = client.get(f"{API}/jwks").json["keys"][0]
    stranger = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())

    def resign(**changes: Any) -> str:
        return pyjwt.encode({**claims, **changes}, stranger, algorithm="EdDSA", headers={"kid": header["kid"]})

    forged = {
        "alg none": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}.",
        "alg none, no signature part": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}",
        # HMAC keyed with the public key (RFC 8725 §2.1): the verifier must not let the token pick HS256.
        "HS256 with the public key": pyjwt.encode(
            claims, base64.urlsafe_b64decode(jwk["x"] + "=="), algorithm="HS256", headers={"kid": header["kid"]}
        ),
        "another key, same kid": resign(),
        "tampered payload": ".".join([good.split(".")[0], _b64({**claims, "role": "admin"}), good.split(".")[2]]),
        "unknown kid": pyjwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": "nope"}),
        "no kid": pyjwt.encode(claims, stranger, algorithm="EdDSA"),
    }
    for name, token in forged.items():
        assert _me(app, token).status_code == 401, name

    # Properly signed with our key, but with wrong claims: sign through the app's own key.
    from app.modules.auth.jwt import tokens

    with app.app_context():
        signer = tokens._signer()

    def ours(**changes: Any) -> str:
        payload = {k: v for k, v in {**claims, **changes}.items() if v is not None}
        return pyjwt.encode(payload, signer.key.private_key, algorithm="EdDSA", headers={"kid": signer.kid})

    assert _me(app, ours()).status_code == 200  # the control: our key, right claims
    for name, token in {
        "wrong iss": ours(iss="https://evil.example"),
        "wrong aud": ours(aud="https://evil.example"),
        "expired": ours(iat=now - 3600, exp=now - 60),
        "no exp": ours(exp=None),
        "no sub": ours(sub=None),
    }.items():
        assert _me(app, token).status_code == 401, name
    assert user["id"] == claims["sub"]


def test_audience_and_issuer_are_settings(make_app: Any) -> None:
    app = make_app(AUTH__JWT__ISSUER="https://auth.example", AUTH__JWT__AUDIENCE="https://api.example")
    client, _ = _signed_in(app)
    token = _token(client)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert (claims["iss"], claims["aud"]) == ("https://auth.example", "https://api.example")
    assert _me(app, token).status_code == 200
