"""The protection rules, end to end through the auth routes: each test fails if its rule goes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.auth.helpers import PASSWORD, sign_in, sign_up


def test_rate_limit_is_off_outside_production_by_default(app: Flask) -> None:
    client = app.test_client()
    statuses = {sign_in(client, "nobody@example.com", "wrong password").status_code for _ in range(6)}
    assert statuses == {401}


def test_rate_limit_on_sign_in(make_app: Any) -> None:
    app = make_app(AUTH__RATE_LIMIT__ENABLED="true")
    client = app.test_client()
    statuses = [sign_in(client, "nobody@example.com", "wrong password").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    limited = sign_in(client, "nobody@example.com", "wrong password")
    assert limited.status_code == 429
    assert limited.json["code"] == "TOO_MANY_REQUESTS"
    assert 0 < int(limited.headers["X-Retry-After"]) <= 10
    # Another client address has its own budget (the key is ip|path).
    other = app.test_client()
    response = other.post(
        "/api/v1/auth/sign-in/email",
        json={"email": "nobody@example.com", "password": "wrong password"},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 401


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app: Any) -> None:
    app = make_app(AUTH__RATE_LIMIT__ENABLED="true")
    client = app.test_client()
    for n in range(3):
        client.post(
            "/api/v1/auth/sign-in/email",
            json={"email": "x@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
    spoofed = client.post(
        "/api/v1/auth/sign-in/email",
        json={"email": "x@example.com", "password": "wrong password"},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert spoofed.status_code == 429, "a client must not escape the limit by inventing X-Forwarded-For"


def test_forwarded_for_through_one_trusted_proxy(make_app: Any) -> None:
    app = make_app(AUTH__TRUSTED_PROXIES="1")
    client = app.test_client()
    sign_up(client, "a@example.com")
    response = client.post(
        "/api/v1/auth/sign-in/email",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.5", "Origin": "http://localhost"},
    )
    assert response.status_code == 200
    session = client.get("/api/v1/auth/get-session").json["session"]
    assert session["ipAddress"] == "203.0.113.5"  # the entry our proxy appended, not the client's claim


@pytest.mark.parametrize("max_failures", [3])
def test_account_lockout_is_generic(make_app: Any, max_failures: int) -> None:
    app = make_app(AUTH__LOCKOUT__MAX_FAILURES=str(max_failures))
    sign_up(app.test_client(), "a@example.com")
    for _ in range(max_failures):
        assert sign_in(app.test_client(), "a@example.com", "wrong password").status_code == 401
    locked = sign_in(app.test_client(), "a@example.com")  # the right password, during the lockout
    assert locked.status_code == 401
    assert locked.json == {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}
    # Other accounts are untouched.
    sign_up(app.test_client(), "b@example.com")
    assert sign_in(app.test_client(), "b@example.com").status_code == 200


def test_success_resets_the_failure_count(make_app: Any) -> None:
    app = make_app(AUTH__LOCKOUT__MAX_FAILURES="3")
    sign_up(app.test_client(), "a@example.com")
    for _ in range(2):
        sign_in(app.test_client(), "a@example.com", "wrong password")
    assert sign_in(app.test_client(), "a@example.com").status_code == 200
    for _ in range(2):
        sign_in(app.test_client(), "a@example.com", "wrong password")
    assert sign_in(app.test_client(), "a@example.com").status_code == 200


def test_sign_in_with_cross_site_navigation_is_blocked(app: Flask) -> None:
    sign_up(app.test_client(), "a@example.com")
    response = app.test_client().post(
        "/api/v1/auth/sign-in/email",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
    )
    assert response.status_code == 403 and response.json["code"] == "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"


def test_sign_in_from_an_untrusted_origin_is_refused(make_app: Any) -> None:
    app = make_app(AUTH__TRUSTED_ORIGINS="https://app.example.com")
    sign_up(app.test_client(), "a@example.com")
    trusted = app.test_client().post(
        "/api/v1/auth/sign-in/email",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"Origin": "https://app.example.com"},
    )
    assert trusted.status_code == 200
    evil = app.test_client().post(
        "/api/v1/auth/sign-in/email",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example.net"},
    )
    assert evil.status_code == 403 and evil.json["code"] == "INVALID_ORIGIN"


def test_counters_down_do_not_break_sign_in(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Rate limits and lockout fail open, loudly: no 500 when their Redis is unreachable."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", AUTH__RATE_LIMIT__ENABLED="true")
    client = app.test_client()
    sign_up(client, "a@example.com")
    assert sign_in(app.test_client(), "a@example.com", "wrong password").status_code == 401
    assert sign_in(app.test_client(), "a@example.com").status_code == 200
    assert "storage unavailable" in caplog.text
