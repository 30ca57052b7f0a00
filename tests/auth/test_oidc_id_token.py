"""ID token validation (OIDC Core §3.1.3.7) on tokens the test signs with its own keys."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.modules.auth.oidc.id_token import IdTokenError, JwksCache, verify_id_token

ISSUER = "https://kc.example.com/realms/acme"
CLIENT = "app-client"
NONCE = "n-0123456789abcdefghijklmnopqrstu"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


RSA_KEY = _rsa()
OTHER_RSA = _rsa()
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwk(key: Any, kid: str, alg: str | None = None) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    out: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    out.update({"kid": kid, "use": "sig"})
    if alg:
        out["alg"] = alg
    return out


class Jwks:
    """The provider's JWKS endpoint as the test controls it; counts fetches."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": list(self.keys)}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "kc-1",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "a@example.com",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: Any = RSA_KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def verify(token: str, cache: JwksCache | None = None, **kw: Any) -> dict[str, Any]:
    cache = cache or JwksCache(Jwks(jwk(RSA_KEY, "k1")))
    return verify_id_token(token, keys=cache, issuers=[ISSUER], client_id=CLIENT, nonce=NONCE, **kw)


def test_a_good_token_verifies() -> None:
    assert verify(sign(claims()))["sub"] == "kc-1"


def test_an_ec_key_verifies_es256() -> None:
    cache = JwksCache(Jwks(jwk(EC_KEY, "e1")))
    assert verify(sign(claims(), EC_KEY, "e1", "ES256"), cache)["sub"] == "kc-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example.com/realms/acme"},
        {"aud": "another-client"},
        {"aud": [CLIENT, "another-client"]},  # several audiences and no azp
        {"aud": [CLIENT, "another-client"], "azp": "another-client"},
        {"exp": int(time.time()) - 3600},
        {"nonce": "n-another-nonce-0000000000000000"},
        {"nonce": None},
        {"iat": None},
        {"sub": None},
    ],
    ids=["iss", "aud", "multi-aud-no-azp", "azp", "expired", "nonce", "no-nonce", "no-iat", "no-sub"],
)
def test_claims_that_fail_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(IdTokenError):
        verify(sign(claims(**changes)))


def test_several_audiences_with_our_azp_verify() -> None:
    assert verify(sign(claims(aud=[CLIENT, "broker"], azp=CLIENT)))["sub"] == "kc-1"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused() -> None:
    token = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(claims())}."
    with pytest.raises(IdTokenError, match="not allowed"):
        verify(token)


def test_hmac_with_the_public_key_as_secret_is_refused() -> None:
    """Key confusion: HS256 "signed" with the provider's public key, which anyone can fetch."""
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "kid": "k1", "typ": "JWT"})
    body = _b64(claims())
    import hashlib
    import hmac

    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(IdTokenError, match="not allowed"):
        verify(token)


def test_an_algorithm_the_provider_does_not_use_is_refused() -> None:
    with pytest.raises(IdTokenError, match="not allowed"):
        verify(sign(claims(), alg="RS512"), algorithms=["RS256"])


def test_a_key_of_the_wrong_type_is_refused() -> None:
    cache = JwksCache(Jwks(jwk(RSA_KEY, "k1")))
    with pytest.raises(IdTokenError, match="key type"):
        verify(sign(claims(), EC_KEY, "k1", "ES256"), cache)


def test_a_key_pinned_to_another_alg_is_refused() -> None:
    cache = JwksCache(Jwks(jwk(RSA_KEY, "k1", alg="PS256")))
    with pytest.raises(IdTokenError):
        verify(sign(claims()), cache)


def test_a_bad_signature_is_refused() -> None:
    with pytest.raises(IdTokenError):
        verify(sign(claims(), OTHER_RSA, "k1"))


def test_an_unknown_kid_refetches_once_then_is_refused() -> None:
    jwks = Jwks(jwk(RSA_KEY, "k1"))
    cache = JwksCache(jwks, min_refresh_interval=0)
    verify(sign(claims()), cache)
    assert jwks.fetches == 1
    with pytest.raises(IdTokenError, match="no key"):
        verify(sign(claims(), OTHER_RSA, "k-unknown"), cache)
    assert jwks.fetches == 2


def test_a_rotated_key_is_found_by_refetching() -> None:
    jwks = Jwks(jwk(RSA_KEY, "k1"))
    cache = JwksCache(jwks, min_refresh_interval=0)
    verify(sign(claims()), cache)
    jwks.keys = [jwk(OTHER_RSA, "k2")]
    assert verify(sign(claims(), OTHER_RSA, "k2"), cache)["sub"] == "kc-1"


def test_unknown_kids_cannot_make_us_hammer_the_provider() -> None:
    jwks = Jwks(jwk(RSA_KEY, "k1"))
    cache = JwksCache(jwks, min_refresh_interval=60)
    verify(sign(claims()), cache)
    for i in range(5):
        with pytest.raises(IdTokenError):
            verify(sign(claims(), OTHER_RSA, f"k-{i}"), cache)
    assert jwks.fetches == 1
