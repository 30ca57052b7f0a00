"""Our crypto against better-auth's own code, in both directions, with the same secret.

One node run (``tests/js/compat-crypto.mjs``) signs, hashes and encrypts with better-call and
``better-auth/crypto``, and judges what Python produced; the tests then check both sides.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.modules.auth.crypto import cookie_decode, cookie_encode, sign_value, symmetric_decrypt, symmetric_encrypt
from app.modules.auth.crypto import unsign_value as unsign
from app.modules.auth.passwords import PasswordHasher, scrypt_hash
from config import Argon2Settings

try:
    from tests.jsenv import run_node
except ModuleNotFoundError:  # the repository root is not on sys.path; pytest put tests/ there instead
    from jsenv import run_node  # type: ignore[no-redef]

pytestmark = pytest.mark.node

SECRET = "compat-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuvw"
VALUES = [
    "jI4PV05lyHv1uibxhuaf2qgggy9YtuZN",  # a session token
    "with.dots.inside",
    "spaces, commas; semicolons = and +/ signs",
    "héllo ☃ 😀 ünïcode",
    "!~*'()-_.",
]
PASSWORD = "\uff30assword\u2460\ufb01"  # fullwidth P, circled 1, fi ligature: NFKC makes it "Password1fi"
PASSWORD_VARIANT = "Password1fi"
WRONG_PASSWORD = "Password1fj"
PLAINTEXT = "JBSWY3DPEHPK3PXP totp secret ✓"


@pytest.fixture(scope="module")
def exchange() -> dict[str, Any]:
    ours = {
        "cookies": [cookie_encode(sign_value(value, SECRET)) for value in VALUES],
        "scrypt": scrypt_hash(PASSWORD),
        "encrypted": symmetric_encrypt(PLAINTEXT, SECRET),
    }
    payload = {
        "secret": SECRET,
        "otherSecret": OTHER_SECRET,
        "values": VALUES,
        "password": PASSWORD,
        "passwordVariant": PASSWORD_VARIANT,
        "wrongPassword": WRONG_PASSWORD,
        "plaintext": PLAINTEXT,
        "ours": ours,
    }
    theirs: dict[str, Any] = run_node("compat-crypto.mjs", json.dumps(payload))
    return {"ours": ours, "theirs": theirs}


def test_their_signed_cookies_verify_with_ours(exchange: dict[str, Any]) -> None:
    for value, cookie in zip(VALUES, exchange["theirs"]["signed"], strict=True):
        assert unsign(cookie_decode(cookie), SECRET) == value
        assert unsign(cookie_decode(cookie), OTHER_SECRET) is None


def test_our_signed_cookies_are_byte_identical_to_theirs(exchange: dict[str, Any]) -> None:
    assert exchange["ours"]["cookies"] == exchange["theirs"]["signed"]


def test_our_signed_cookies_verify_with_theirs(exchange: dict[str, Any]) -> None:
    assert exchange["theirs"]["oursVerified"] == VALUES
    assert exchange["theirs"]["oursWithOtherSecret"] == [False] * len(VALUES)


def test_their_scrypt_hash_verifies_with_ours(exchange: dict[str, Any]) -> None:
    hasher = PasswordHasher(Argon2Settings(time_cost=1, memory_cost=8, parallelism=1))
    stored = exchange["theirs"]["scrypt"]
    assert hasher.verify(stored, PASSWORD)
    assert hasher.verify(stored, PASSWORD_VARIANT)
    assert not hasher.verify(stored, WRONG_PASSWORD)
    assert hasher.needs_rehash(stored)


def test_our_scrypt_hash_verifies_with_theirs(exchange: dict[str, Any]) -> None:
    theirs = exchange["theirs"]
    assert theirs["oursScryptRight"] is True
    assert theirs["oursScryptVariant"] is True
    assert theirs["oursScryptWrong"] is False


def test_their_ciphertext_decrypts_with_ours(exchange: dict[str, Any]) -> None:
    encrypted = exchange["theirs"]["encrypted"]
    assert encrypted != PLAINTEXT
    assert symmetric_decrypt(encrypted, SECRET) == PLAINTEXT


def test_our_ciphertext_decrypts_with_theirs(exchange: dict[str, Any]) -> None:
    theirs = exchange["theirs"]
    assert theirs["oursDecrypted"] == {"ok": True, "value": PLAINTEXT}
    assert theirs["oursDecryptedOtherSecret"]["ok"] is False
