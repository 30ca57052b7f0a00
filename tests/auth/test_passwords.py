"""Unit tests of password hashing: argon2id, better-auth scrypt, rehash detection, length checks."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type

from app.core.errors import ApiError
from app.modules.auth.passwords import PasswordHasher, check_password_length, scrypt_hash, scrypt_verify
from config import Argon2Settings, load_settings

CHEAP = Argon2Settings(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


@pytest.fixture(scope="module")
def scrypt_stored() -> str:
    return scrypt_hash(PASSWORD)


# -- argon2id ------------------------------------------------------------------------------------


def test_hash_is_argon2id_with_the_configured_parameters(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert hasher.verify(stored, PASSWORD)
    assert not hasher.verify(stored, PASSWORD + "!")
    assert not hasher.verify(stored, "")


def test_hash_is_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash(PASSWORD) != hasher.hash(PASSWORD)


def test_parameters_come_from_settings() -> None:
    settings = load_settings(
        {
            "APP_ENV": "testing",
            "AUTH__ARGON2__TIME_COST": "3",
            "AUTH__ARGON2__MEMORY_COST": "16",
            "AUTH__ARGON2__PARALLELISM": "2",
        }
    )
    stored = PasswordHasher(settings.auth.argon2).hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=16,t=3,p=2$")


def test_defaults_are_owasp_minimums() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB (19456 KiB), t=2, p=1.
    stored = PasswordHasher(Argon2Settings()).hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_password_is_nfkc_normalized(hasher: PasswordHasher) -> None:
    stored = hasher.hash("\uff30assword\u2460\ufb01")  # fullwidth P, circled 1, fi ligature
    assert hasher.verify(stored, "Password1fi")
    assert hasher.verify(hasher.hash("Password1fi"), "\uff30assword\u2460\ufb01")
    assert not hasher.verify(stored, "password1fi")


def test_lone_surrogates_hash_as_replacement_character(hasher: PasswordHasher) -> None:
    # JavaScript encodes a lone surrogate as U+FFFD; so do we, instead of raising.
    stored = hasher.hash("pass\ud800word")
    assert hasher.verify(stored, "pass\ufffdword")


def test_verifies_argon2_hashes_with_other_parameters(hasher: PasswordHasher) -> None:
    other = Argon2Hasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.ID).hash(PASSWORD)
    assert hasher.verify(other, PASSWORD)
    assert hasher.needs_rehash(other)
    argon2i = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash(PASSWORD)
    assert hasher.verify(argon2i, PASSWORD)
    assert hasher.needs_rehash(argon2i)


def test_current_hash_needs_no_rehash(hasher: PasswordHasher) -> None:
    assert not hasher.needs_rehash(hasher.hash(PASSWORD))
    assert PasswordHasher(Argon2Settings(time_cost=2, memory_cost=8, parallelism=1)).needs_rehash(hasher.hash(PASSWORD))


# -- better-auth scrypt --------------------------------------------------------------------------


def test_scrypt_hash_format(scrypt_stored: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}:[0-9a-f]{128}", scrypt_stored)
    salt, key = scrypt_stored.split(":")
    # better-auth uses the salt's hex text as the salt bytes, not the decoded bytes.
    expected = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=16384, r=16, p=1, dklen=64, maxmem=2**26)
    assert key == expected.hex()


def test_scrypt_hashes_verify_and_need_rehash(hasher: PasswordHasher, scrypt_stored: str) -> None:
    assert hasher.verify(scrypt_stored, PASSWORD)
    assert not hasher.verify(scrypt_stored, PASSWORD + "x")
    assert scrypt_verify(scrypt_stored, PASSWORD)
    assert hasher.needs_rehash(scrypt_stored)


def test_scrypt_known_better_auth_hash(hasher: PasswordHasher) -> None:
    # Printed by better-auth 1.7.25: ``await hashPassword("password123")`` from "better-auth/crypto".
    stored = (
        "ebc0f31dddfb6d1af4291a4868f8cac7:445236f287f01b9720052a84fa13c8a153deffade9d4cef9774633b85f24b779"
        "eba44509e22889bb9679c83bd115d810f917970515d6623b2059176f2f5006d5"
    )
    assert hasher.verify(stored, "password123")
    assert not hasher.verify(stored, "password124")
    assert hasher.needs_rehash(stored)


def test_scrypt_tampered_key_fails(hasher: PasswordHasher, scrypt_stored: str) -> None:
    salt, key = scrypt_stored.split(":")
    flipped = ("1" if key[0] == "0" else "0") + key[1:]
    assert not hasher.verify(f"{salt}:{flipped}", PASSWORD)
    other_salt = ("1" if salt[0] == "0" else "0") + salt[1:]
    assert not hasher.verify(f"{other_salt}:{key}", PASSWORD)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        ":" + "a" * 128,  # no salt
        "a" * 32 + ":",  # no key
        "a" * 32 + ":" + "a" * 127,  # short key
        "a" * 32 + ":" + "g" * 128,  # not hex
        "a" * 32 + ":" + "a" * 128 + ":extra",
        "$argon2id$v=19$m=8,t=1,p=1$garbage",
        "$argon2id$",
        "$2b$12$abcdefghijklmnopqrstuuJ9yZ2h1c3Z9yYy2N1m9B6h8Yf1qL6e",  # bcrypt: unsupported
    ],
)
def test_malformed_hashes_are_false_and_logged(
    hasher: PasswordHasher, stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.modules.auth.passwords"):
        assert hasher.verify(stored, PASSWORD) is False
    assert caplog.records, "a malformed hash must be logged"
    assert hasher.needs_rehash(stored)


def test_non_text_inputs_are_false(hasher: PasswordHasher) -> None:
    assert hasher.verify(None, PASSWORD) is False  # type: ignore[arg-type]
    assert hasher.verify(hasher.hash(PASSWORD), None) is False  # type: ignore[arg-type]
    assert scrypt_verify("a" * 32 + ":" + "a" * 128, None) is False  # type: ignore[arg-type]


# -- dummy verification --------------------------------------------------------------------------


def test_dummy_verify_hashes_once_with_the_configured_parameters(hasher: PasswordHasher) -> None:
    assert hasher._dummy_hash is None
    assert hasher.dummy_verify(PASSWORD) is None
    dummy = hasher._dummy_hash
    assert dummy is not None and dummy.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    hasher.dummy_verify("another")
    assert hasher._dummy_hash == dummy  # made once, reused
    assert not hasher.needs_rehash(dummy)  # same cost as a real user's hash


# -- length checks -------------------------------------------------------------------------------


def test_password_length_bounds() -> None:
    check_password_length("a" * 8, 8, 128)
    check_password_length("a" * 128, 8, 128)
    with pytest.raises(ApiError) as short:
        check_password_length("a" * 7, 8, 128)
    assert (short.value.status, short.value.code, short.value.message) == (
        400,
        "PASSWORD_TOO_SHORT",
        "Password too short",
    )
    with pytest.raises(ApiError) as long:
        check_password_length("a" * 129, 8, 128)
    assert (long.value.status, long.value.code, long.value.message) == (400, "PASSWORD_TOO_LONG", "Password too long")


def test_password_length_counts_utf16_units_like_javascript() -> None:
    # "😀" is one code point but two UTF-16 units: JavaScript's "😀".length === 2.
    check_password_length("😀" * 4, 8, 128)
    with pytest.raises(ApiError):
        check_password_length("😀" * 3 + "a", 8, 128)
    with pytest.raises(ApiError) as long:
        check_password_length("😀" * 65, 8, 128)
    assert long.value.code == "PASSWORD_TOO_LONG"
