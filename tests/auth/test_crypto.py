"""Unit tests of the auth crypto primitives (signed values, cookie encoding, random ids, AEAD)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from app.modules.auth.crypto import (
    ALPHANUMERIC,
    DEFAULT_ALPHABET,
    DecryptionError,
    cookie_decode,
    cookie_encode,
    generate_id,
    generate_random_string,
    hash_token,
    sign_value,
    symmetric_decrypt,
    symmetric_encrypt,
    unsign_value,
)

SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


# -- sign / unsign -------------------------------------------------------------------------------


def test_sign_value_is_value_dot_base64_hmac_sha256() -> None:
    signed = sign_value("token123", SECRET)
    value, signature = signed.rsplit(".", 1)
    expected = base64.b64encode(hmac.new(SECRET.encode(), b"token123", hashlib.sha256).digest()).decode()
    assert value == "token123"
    assert signature == expected
    assert len(signature) == 44 and signature.endswith("=")


def test_sign_value_known_vector() -> None:
    # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 test vector in base64.
    signed = sign_value("The quick brown fox jumps over the lazy dog", "key")
    assert signed.endswith(".97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=")


@pytest.mark.parametrize("value", ["abc", "a.b.c", "héllo ☃ 😀", "x" * 1000, "trailing."])
def test_unsign_round_trip(value: str) -> None:
    assert unsign_value(sign_value(value, SECRET), SECRET) == value


def test_unsign_rejects_wrong_secret() -> None:
    assert unsign_value(sign_value("abc", SECRET), SECRET + "x") is None


def test_unsign_rejects_tampered_value_and_signature() -> None:
    signed = sign_value("abc", SECRET)
    value, signature = signed.rsplit(".", 1)
    assert unsign_value(f"abd.{signature}", SECRET) is None
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert unsign_value(f"{value}.{flipped}", SECRET) is None


def test_unsign_splits_at_the_last_dot() -> None:
    signed = sign_value("part1.part2", SECRET)
    assert unsign_value(signed, SECRET) == "part1.part2"
    # Moving the dot changes what is signed, so it must not verify.
    assert unsign_value(signed.replace("part1.part2", "part1part2.", 1), SECRET) is None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "nodot",
        "." + "A" * 43 + "=",  # empty value: better-call refuses it
        "abc." + "A" * 44,  # no "=" at the end
        "abc." + "A" * 43,  # too short
        "abc." + "A" * 44 + "=",  # too long
        "abc." + "!" * 43 + "=",  # not base64
        "abc." + "é" * 43 + "=",  # not ASCII
        "\ud800." + "A" * 43 + "=",  # lone surrogate: not encodable
    ],
)
def test_unsign_never_raises_on_garbage(garbage: str) -> None:
    assert unsign_value(garbage, SECRET) is None


def test_unsign_non_text_input_is_none() -> None:
    assert unsign_value(None, SECRET) is None  # type: ignore[arg-type]
    assert unsign_value(b"abc", SECRET) is None  # type: ignore[arg-type]


# -- cookie encoding -----------------------------------------------------------------------------


def test_cookie_encode_matches_encode_uri_component() -> None:
    # Unescaped set of encodeURIComponent: A-Z a-z 0-9 - _ . ! ~ * ' ( )
    unreserved = "ABCxyz019-_.!~*'()"
    assert cookie_encode(unreserved) == unreserved
    assert cookie_encode("a+b/c=d") == "a%2Bb%2Fc%3Dd"
    assert cookie_encode(' ;,"%') == "%20%3B%2C%22%25"
    assert cookie_encode("é☃😀") == "%C3%A9%E2%98%83%F0%9F%98%80"


def test_cookie_encode_every_ascii_character() -> None:
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
    for code in range(128):
        char = chr(code)
        expected = char if char in safe else f"%{code:02X}"
        assert cookie_encode(char) == expected, char


def test_cookie_encode_of_signed_value_example() -> None:
    signed = sign_value("jI4PV05lyHv1uibxhuaf2qgggy9YtuZN", SECRET)
    encoded = cookie_encode(signed)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert encoded.endswith("%3D")
    assert cookie_decode(encoded) == signed


def test_cookie_decode_is_tolerant() -> None:
    assert cookie_decode("already.decoded+/=") == "already.decoded+/="
    assert cookie_decode("a%2Bb") == "a+b"
    assert cookie_decode("plus+stays") == "plus+stays"
    assert cookie_decode("%C3%A9") == "é"
    # Malformed escapes or invalid UTF-8: the value is left as it is, like better-call's tryDecode.
    assert cookie_decode("bad%zzescape%2B") == "bad%zzescape%2B"
    assert cookie_decode("trailing%") == "trailing%"
    assert cookie_decode("%FF%FE") == "%FF%FE"


# -- random values and token hashing -------------------------------------------------------------


def test_generate_id_alphabet_and_length() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{32}", generate_id())
    assert re.fullmatch(r"[A-Za-z0-9]{24}", generate_id(24))
    assert generate_id() != generate_id()


def test_generate_random_string_default_alphabet() -> None:
    assert set(DEFAULT_ALPHABET) == set("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
    value = generate_random_string(2000)
    assert len(value) == 2000
    assert set(value) <= set(DEFAULT_ALPHABET)
    assert len(set(value)) > 50  # draws from the whole alphabet, not a subset


def test_generate_random_string_custom_alphabet_and_edges() -> None:
    assert set(generate_random_string(200, "01")) == {"0", "1"}
    assert generate_random_string(0) == ""
    assert set(ALPHANUMERIC) == set(DEFAULT_ALPHABET) - {"-", "_"}
    with pytest.raises(ValueError):
        generate_random_string(-1)
    with pytest.raises(ValueError):
        generate_random_string(5, "")


def test_hash_token_is_sha256_lower_hex() -> None:
    digest = hash_token("abc")
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 vector
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(generate_id()))
    assert hash_token("abc") != hash_token("abd")


# -- symmetric encryption ------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["", "JBSWY3DPEHPK3PXP", "é☃😀 ünïcode", "x" * 10_000])
def test_symmetric_round_trip(plaintext: str) -> None:
    ciphertext = symmetric_encrypt(plaintext, SECRET)
    assert re.fullmatch(r"[0-9a-f]+", ciphertext)
    # 24-byte nonce + ciphertext + 16-byte Poly1305 tag, hex.
    assert len(ciphertext) == 2 * (24 + len(plaintext.encode()) + 16)
    assert symmetric_decrypt(ciphertext, SECRET) == plaintext
    assert symmetric_decrypt(ciphertext.upper(), SECRET) == plaintext


def test_symmetric_encrypt_uses_a_fresh_nonce() -> None:
    first, second = symmetric_encrypt("same", SECRET), symmetric_encrypt("same", SECRET)
    assert first != second
    assert first[:48] != second[:48]


def test_symmetric_decrypt_wrong_secret() -> None:
    with pytest.raises(DecryptionError):
        symmetric_decrypt(symmetric_encrypt("secret data", SECRET), SECRET + "x")


@pytest.mark.parametrize("position", [0, 47, 48, -1])
def test_symmetric_decrypt_detects_tampering(position: int) -> None:
    ciphertext = symmetric_encrypt("secret data", SECRET)
    index = position % len(ciphertext)
    flipped = "1" if ciphertext[index] == "0" else "0"
    tampered = ciphertext[:index] + flipped + ciphertext[index + 1 :]
    with pytest.raises(DecryptionError):
        symmetric_decrypt(tampered, SECRET)


@pytest.mark.parametrize("garbage", ["", "zz", "abc", "00" * 39, "not hex at all", "é" * 100])
def test_symmetric_decrypt_malformed(garbage: str) -> None:
    with pytest.raises(DecryptionError):
        symmetric_decrypt(garbage, SECRET)


def test_decryption_error_is_a_value_error() -> None:
    assert issubclass(DecryptionError, ValueError)
