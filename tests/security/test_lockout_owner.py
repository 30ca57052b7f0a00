"""Lockout an attacker cannot turn against the owner (issue 14 item 4).

OWASP Authentication Cheat Sheet "Account Lockout"; OWASP "Slow Down Online Guessing Attacks with
Device Cookies". The review found that 10 wrong passwords for any email, from anywhere, locked that
account (the admin's too) for 15 minutes. The three cases:

1. a browser that signed in before (device cookie) gets through a lock caused by others;
2. untrusted clients past the threshold are slowed, then locked (and a client alone is locked too);
3. the bootstrap admin is no different.

Every refusal answers exactly as a wrong password, for known and unknown emails alike.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.helpers import PASSWORD, sign_in, sign_up
from tests.conftest import AppFactory

MAX = 4
WRONG = {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}
DEVICE_COOKIE = "better-auth.sign_in_device"


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attack(app: Flask, email: str, times: int = MAX, *, spread: bool = True) -> None:
    """``times`` wrong passwords for ``email``, each from its own address (a botnet) or one address."""
    for number in range(times):
        address = f"198.51.100.{10 + number}" if spread else "198.51.100.200"
        response = sign_in(client_at(app, address), email, "wrong password")
        assert (response.status_code, response.json) == (401, WRONG)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app(
        AUTH__LOCKOUT__MAX_FAILURES=str(MAX), AUTH__LOCKOUT__SLOW_AFTER=str(MAX + 100), AUTH__LOCKOUT__DELAY="0"
    )


def test_a_browser_that_signed_in_before_gets_through_a_lock_caused_by_others(app: Flask) -> None:
    owner = client_at(app, "203.0.113.7")
    sign_up(owner, "ada@example.com")
    assert sign_in(owner, "ada@example.com").status_code == 200
    assert owner.get_cookie(DEVICE_COOKIE) is not None  # left by the successful sign-in

    attack(app, "ada@example.com")

    # A new browser (even at the owner's address) with the right password: refused, generically.
    stranger = client_at(app, "203.0.113.7")
    refused = sign_in(stranger, "ada@example.com")
    assert (refused.status_code, refused.json) == (401, WRONG)
    # The owner's browser: in.
    assert sign_in(owner, "ada@example.com").status_code == 200


def test_a_device_cookie_works_only_for_its_own_account(app: Flask) -> None:
    mallory = client_at(app, "203.0.113.66")
    sign_up(mallory, "mallory@example.com")
    sign_up(app.test_client(), "ada@example.com")
    assert sign_in(mallory, "mallory@example.com").status_code == 200  # mallory's own device cookie

    attack(app, "ada@example.com")

    assert sign_in(mallory, "ada@example.com", PASSWORD).status_code == 401  # no help on ada's account


def test_failures_with_a_device_cookie_lock_that_cookie_only(app: Flask) -> None:
    owner = client_at(app, "203.0.113.7")
    sign_up(owner, "ada@example.com")
    assert sign_in(owner, "ada@example.com").status_code == 200
    thief = client_at(app, "198.51.100.99")
    thief.set_cookie(DEVICE_COOKIE, owner.get_cookie(DEVICE_COOKIE).value)  # a copied device cookie

    for _ in range(MAX):
        assert sign_in(thief, "ada@example.com", "wrong password").status_code == 401

    # The copied cookie is locked: its next failure counts as an untrusted client's, on the account...
    from app.modules.auth.lockout import AccountLockout

    lockout = AccountLockout.for_app(app)
    assert lockout.failures("ada@example.com") == 0
    assert sign_in(thief, "ada@example.com", "wrong password").status_code == 401
    assert lockout.failures("ada@example.com") == 1
    # ...and the account is not locked: the owner signs in from a new browser.
    assert sign_in(client_at(app, "203.0.113.8"), "ada@example.com").status_code == 200


def test_untrusted_clients_are_slowed_then_locked(make_app: AppFactory) -> None:
    delay = 0.4
    app = make_app(
        AUTH__LOCKOUT__MAX_FAILURES=str(MAX), AUTH__LOCKOUT__SLOW_AFTER="2", AUTH__LOCKOUT__DELAY=str(delay)
    )
    sign_up(app.test_client(), "ada@example.com")
    attack(app, "ada@example.com", times=2)

    started = time.monotonic()
    slowed = sign_in(client_at(app, "198.51.100.50"), "ada@example.com", "wrong password")
    assert slowed.status_code == 401 and time.monotonic() - started >= delay  # waited before being checked
    attack(app, "ada@example.com", times=1)

    locked = sign_in(client_at(app, "198.51.100.51"), "ada@example.com")  # the right password
    assert (locked.status_code, locked.json) == (401, WRONG)


def test_one_client_alone_is_locked_without_locking_the_account_for_others(app: Flask) -> None:
    sign_up(app.test_client(), "ada@example.com")
    attack(app, "ada@example.com", spread=False)
    from app.modules.auth.lockout import AccountLockout

    AccountLockout.for_app(app).reset("ada@example.com")  # the account-wide lock ends (its duration)

    assert sign_in(client_at(app, "198.51.100.200"), "ada@example.com").status_code == 401  # still this client
    assert sign_in(client_at(app, "203.0.113.9"), "ada@example.com").status_code == 200


def test_the_bootstrap_admin_is_not_special(make_app: AppFactory) -> None:
    app = make_app(
        AUTH__LOCKOUT__MAX_FAILURES=str(MAX),
        AUTH__LOCKOUT__DELAY="0",
        ADMIN__EMAIL="root@example.com",
        ADMIN__PASSWORD="root password 123",
    )
    admin_browser = client_at(app, "203.0.113.1")
    assert sign_in(admin_browser, "root@example.com", "root password 123").status_code == 200

    attack(app, "root@example.com")

    assert sign_in(client_at(app, "203.0.113.2"), "root@example.com", "root password 123").status_code == 401
    assert sign_in(admin_browser, "root@example.com", "root password 123").status_code == 200


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
def test_locked_answers_are_the_wrong_password_answer(app: Flask, email: str) -> None:
    sign_up(app.test_client(), "ada@example.com")
    first = sign_in(client_at(app, "203.0.113.3"), email, "wrong password")
    attack(app, email)
    locked = sign_in(client_at(app, "203.0.113.4"), email, PASSWORD)
    assert (first.status_code, first.json) == (locked.status_code, locked.json) == (401, WRONG)
    assert DEVICE_COOKIE not in str(locked.headers.getlist("Set-Cookie"))
