"""CORS for front ends on other origins (app.core.cors): preflights, actual requests, cookies.

The browser side (the official client in Chromium from another origin) is tests/browser/test_cross_origin.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.core.cors import CorsSettings, origin_pattern
from app.core.settings import load
from app.modules.auth.origin import TrustedOrigins
from config import ConfigError, load_settings

SPA = "https://app.example.org"
PATTERNS = ["https://app.example.org", "*.example.com", "https://*.preview.dev", "10.0.*.*", "http://localhost:5173"]


def preflight(client: Any, path: str, origin: str, method: str = "POST", headers: str = "content-type") -> Any:
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def cors_headers(response: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def cors_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(AUTH__TRUSTED_ORIGINS=",".join(PATTERNS))


def test_preflight_from_a_trusted_origin(cors_app: Flask) -> None:
    client = cors_app.test_client()
    response = preflight(client, "/api/v1/auth/sign-in/email", SPA, headers="content-type, authorization")
    assert response.status_code == 204
    assert response.data == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": SPA,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
        "access-control-expose-headers": "set-auth-jwt, set-auth-token",
    }
    assert "Origin" in response.headers["Vary"]


def test_preflight_for_application_routes_and_api_key_headers(cors_app: Flask) -> None:
    client = cors_app.test_client()
    response = preflight(client, "/api/v1/me", "https://a.b.example.com", "GET", "x-api-key, x-tenant-id")
    assert response.status_code == 204
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == "https://a.b.example.com"
    assert headers["access-control-allow-methods"] == "DELETE, GET, PATCH, POST, PUT"
    assert headers["access-control-allow-headers"] == "x-api-key, x-tenant-id"


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://app.example.org.evil.example", "http://app.example.org", "null",
     "http://10.0.evil.com", "https://example.com"],
)
def test_other_origins_get_no_cors_headers(cors_app: Flask, origin: str) -> None:
    client = cors_app.test_client()
    response = preflight(client, "/api/v1/auth/sign-in/email", origin)
    assert response.status_code == 405
    assert cors_headers(response) == {}
    response = client.get("/api/v1/auth/get-session", headers={"Origin": origin})
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_preflight_for_a_method_the_route_does_not_take_is_not_answered(cors_app: Flask) -> None:
    client = cors_app.test_client()
    assert preflight(client, "/api/v1/auth/get-session", SPA, "DELETE").status_code == 405
    assert preflight(client, "/api/v1/auth/nowhere", SPA).status_code == 404
    plain = client.options("/api/v1/auth/sign-in/email", headers={"Origin": SPA})  # no Access-Control-Request-Method
    assert plain.status_code == 405


def test_actual_response_echoes_the_origin_and_exposes_the_token_headers(cors_app: Flask) -> None:
    client = cors_app.test_client()
    response = client.post(
        "/api/v1/auth/sign-up/email",
        json={"email": "spa@example.com", "password": "correct horse battery", "name": "Spa"},
        headers={"Origin": SPA},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    # one line, the bearer plugin's own entry merged with Flask-CORS's
    assert response.headers.getlist("Access-Control-Expose-Headers") == ["set-auth-token, set-auth-jwt"]
    assert response.headers["set-auth-token"]


def test_same_origin_requests_get_no_cors_headers(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTH__BASE_URL="http://localhost:5000", AUTH__TRUSTED_ORIGINS=SPA)
    response = app.test_client().get("/api/v1/auth/get-session", headers={"Origin": "http://localhost:5000"})
    assert cors_headers(response) == {}


def test_the_origin_check_still_refuses_cookie_posts_from_untrusted_origins(cors_app: Flask) -> None:
    client = cors_app.test_client()
    client.set_cookie("better-auth.session_token", "anything", domain="localhost")
    response = client.post("/api/v1/auth/sign-out", json={}, headers={"Origin": "https://evil.example"})
    assert (response.status_code, response.json["code"]) == (403, "INVALID_ORIGIN")
    assert cors_headers(response) == {}


def test_cors_origins_set_apart_for_application_routes(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTH__TRUSTED_ORIGINS=SPA, CORS__ORIGINS="https://admin.example.net", CORS__MAX_AGE="60")
    client = app.test_client()
    assert preflight(client, "/api/v1/me", "https://admin.example.net", "GET").headers["Access-Control-Max-Age"] == "60"
    assert preflight(client, "/api/v1/me", SPA, "GET").status_code == 405
    assert preflight(client, "/api/v1/auth/get-session", "https://admin.example.net", "GET").status_code == 405
    assert preflight(client, "/api/v1/auth/get-session", SPA, "GET").status_code == 204


def test_no_trusted_origins_means_no_cors(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTH__TRUSTED_ORIGINS="")
    response = preflight(app.test_client(), "/api/v1/auth/sign-in/email", "http://localhost:5173")
    assert response.status_code == 405
    assert cors_headers(response) == {}


@pytest.mark.parametrize(
    "origin",
    ["https://app.example.org", "https://x.example.com", "http://a.b.example.com:8080", "https://pr-1.preview.dev",
     "http://pr-1.preview.dev", "http://10.0.1.2", "http://10.0.evil.com", "http://localhost:5173",
     "http://localhost:5174", "https://example.com", "https://evil.com/.example.com", "HTTPS://APP.EXAMPLE.ORG"],
)
def test_cors_admits_exactly_what_the_origin_check_trusts(origin: str) -> None:
    trusted = TrustedOrigins(PATTERNS)
    patterns = [origin_pattern(p) for p in trusted.patterns]
    admitted = any(p.match(origin) if not isinstance(p, str) else p == origin.lower() for p in patterns)
    assert admitted == trusted.is_trusted(origin)


def test_same_site_none_cookies(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTH__COOKIE_SAME_SITE="none", AUTH__SECURE_COOKIES="true")
    response = app.test_client().post(
        "/api/v1/auth/sign-up/email",
        json={"email": "cross@example.com", "password": "correct horse battery", "name": "Cross"},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "session_token" in c)
    assert cookie.startswith("__Secure-better-auth.session_token=")
    assert "SameSite=None" in cookie and "Secure" in cookie


def test_same_site_none_without_secure_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="AUTH__COOKIE_SAME_SITE=none needs Secure cookies"):
        load_settings({"APP_ENV": "testing", "AUTH__COOKIE_SAME_SITE": "none"}, env_file=None)
    with pytest.raises(ConfigError, match="AUTH__COOKIE_SAME_SITE"):
        load_settings({"APP_ENV": "testing", "AUTH__COOKIE_SAME_SITE": "sometimes"}, env_file=None)
    with pytest.raises(ConfigError, match="CORS__ORIGINS"):
        load(CorsSettings, {"CORS__ORIGINS": "example"})


def test_requests_without_origin_get_no_cors_headers(cors_app: Flask) -> None:
    response = cors_app.test_client().get("/api/v1/auth/get-session")
    assert cors_headers(response) == {}


def test_vary_origin_with_a_single_trusted_origin(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTH__TRUSTED_ORIGINS=SPA)
    client = app.test_client()
    for headers in ({"Origin": SPA}, {}):
        response = client.get("/api/v1/auth/get-session", headers=headers)
        assert "Origin" in response.headers.get("Vary", "")
