"""RateLimiter: better-auth's rules (§2.2), counted in memory and in a real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from limits.storage import MemoryStorage, RedisStorage, Storage

from app.core.errors import ApiError
from app.modules.auth.counters import KEY_PREFIX, build_storage, counter_storage
from app.modules.auth.ratelimit import RateLimiter, relative_path
from config import load_settings

IP = "198.51.100.4"
MESSAGE = "Too many requests. Please try again later."


@pytest.fixture(params=["memory", "database", pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "database":  # the configured backend's database (SQLite or PostgreSQL)
        app = request.getfixturevalue("make_app")(AUTH__COUNTER_STORAGE="database")
        yield build_storage(None, app=app, kind="database")
    else:
        yield build_storage(request.getfixturevalue("redis_url"))


@pytest.fixture
def limiter(storage: Storage) -> RateLimiter:
    return RateLimiter(storage, enabled=True, window=10, max=5)


def allowed(limiter: RateLimiter, path: str, ip: str = IP) -> int:
    """How many requests in a row pass before the first 429 (stops at 200)."""
    for count in range(200):
        try:
            limiter.hit(path, ip)
        except ApiError:
            return count
    return 200


def retry_after(limiter: RateLimiter, path: str, ip: str = IP) -> int:
    with pytest.raises(ApiError) as caught:
        limiter.hit(path, ip)
    return int(caught.value.headers["X-Retry-After"])


# -- the rules -----------------------------------------------------------------------------


def test_default_rule_comes_from_the_settings(limiter: RateLimiter) -> None:
    assert allowed(limiter, "/get-session") == 5
    assert 1 <= retry_after(limiter, "/get-session") <= 10


def test_better_auths_default_is_100_per_10_seconds(storage: Storage) -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "AUTH__RATE_LIMIT__ENABLED": "true"})
    app.extensions["auth.counters"] = storage
    assert allowed(RateLimiter.for_app(app), "/get-session") == 100


@pytest.mark.parametrize(
    "path",
    [
        "/sign-in/email",
        "/sign-in/social",
        "/sign-up/email",
        "/change-password",
        "/change-email",
        "/two-factor/verify-totp",
    ],
)
def test_sensitive_paths_allow_3_per_10_seconds(limiter: RateLimiter, path: str) -> None:
    assert allowed(limiter, path) == 3
    assert 1 <= retry_after(limiter, path) <= 10


@pytest.mark.parametrize(
    "path", ["/request-password-reset", "/send-verification-email", "/forget-password", "/forget-password/email-otp"]
)
def test_email_sending_paths_allow_3_per_60_seconds(limiter: RateLimiter, path: str) -> None:
    assert allowed(limiter, path) == 3
    assert 10 < retry_after(limiter, path) <= 60


@pytest.mark.parametrize(
    "path", ["/two-factor", "/request-password-reset-x", "/get-session", "/sign", "/list-sessions"]
)
def test_other_paths_use_the_default_rule(limiter: RateLimiter, path: str) -> None:
    assert allowed(limiter, path) == 5


def test_the_429_is_better_auths(limiter: RateLimiter) -> None:
    allowed(limiter, "/sign-in/email")
    with pytest.raises(ApiError) as caught:
        limiter.hit("/sign-in/email", IP)
    error = caught.value
    assert (error.status, error.code, error.message) == (429, "TOO_MANY_REQUESTS", MESSAGE)
    assert error.headers["X-Retry-After"].isdigit()


# -- the key --------------------------------------------------------------------------------


def test_clients_are_counted_apart(limiter: RateLimiter) -> None:
    assert allowed(limiter, "/sign-in/email", "198.51.100.4") == 3
    assert allowed(limiter, "/sign-in/email", "198.51.100.5") == 3


def test_paths_are_counted_apart(limiter: RateLimiter) -> None:
    assert allowed(limiter, "/sign-in/email") == 3
    assert allowed(limiter, "/sign-up/email") == 3


def test_one_ipv6_64_is_one_client(limiter: RateLimiter) -> None:
    for suffix in ("1", "2", "3"):
        limiter.hit("/sign-in/email", f"2001:db8:1:2::{suffix}")
    with pytest.raises(ApiError):
        limiter.hit("/sign-in/email", "2001:db8:1:2:ffff::9")
    limiter.hit("/sign-in/email", "2001:db8:1:3::1")


def test_unknown_clients_share_one_bucket(limiter: RateLimiter) -> None:
    assert limiter.key("/sign-in/email", "") == "no-trusted-ip|/sign-in/email"
    assert allowed(limiter, "/sign-in/email", "") == 3


def test_the_auth_base_path_and_slash_variants_are_one_path(limiter: RateLimiter) -> None:
    limiter.hit("/api/v1/auth/sign-in/email", IP)
    limiter.hit("/sign-in/email/", IP)
    limiter.hit("/api/v1/auth//sign-in//email?x=1", IP)
    with pytest.raises(ApiError):
        limiter.hit("/sign-in/email", IP)


def test_key_is_ip_bar_relative_path(limiter: RateLimiter) -> None:
    assert limiter.key("/api/v1/auth/sign-in/email", IP) == f"{IP}|/sign-in/email"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/auth", "/"),
        ("/api/v1/auth/", "/"),
        ("/api/v1/auth/ok", "/ok"),
        ("/api/v1/authx", "/api/v1/authx"),
        ("//a//b/", "/a/b"),
    ],
)
def test_relative_path(path: str, expected: str) -> None:
    assert relative_path(path) == expected


# -- switches and request scope -----------------------------------------------------------


def test_disabled_never_limits(storage: Storage) -> None:
    limiter = RateLimiter(storage, enabled=False, window=10, max=1)
    assert allowed(limiter, "/sign-in/email") == 200


def test_for_app_follows_the_enabled_setting(storage: Storage) -> None:
    for enabled, expected in (("false", 200), ("true", 3)):
        app = Flask(__name__)
        app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "AUTH__RATE_LIMIT__ENABLED": enabled})
        app.extensions["auth.counters"] = storage
        assert allowed(RateLimiter.for_app(app), "/sign-in/email", f"10.0.0.{len(enabled)}") == expected


def test_rate_limiting_is_off_by_default_outside_production() -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing"})
    assert RateLimiter.for_app(app).enabled is False
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "production", "AUTH__SECRET": "x" * 40})
    assert RateLimiter.for_app(app).enabled is True


def test_a_request_is_counted_once_however_often_hit_is_called(limiter: RateLimiter) -> None:
    app = Flask(__name__)
    for _ in range(3):
        with app.test_request_context("/api/v1/auth/sign-in/email", method="POST"):
            limiter.hit("/api/v1/auth/sign-in/email", IP)
            limiter.hit("/api/v1/auth/sign-in/email", IP)
    with app.test_request_context("/api/v1/auth/sign-in/email", method="POST"), pytest.raises(ApiError):
        limiter.hit("/api/v1/auth/sign-in/email", IP)


def test_the_window_ends(storage: Storage) -> None:
    limiter = RateLimiter(storage, enabled=True, window=1, max=1)
    limiter.hit("/get-session", IP)
    time.sleep(1.1)
    limiter.hit("/get-session", IP)  # a counter that never expired would answer 429 here


def test_reset_forgets_a_count(limiter: RateLimiter) -> None:
    allowed(limiter, "/sign-in/email")
    limiter.reset("/sign-in/email", IP)
    assert allowed(limiter, "/sign-in/email") == 3


# -- one store per app, shared through Redis -------------------------------------------------


def test_counter_storage_is_the_database_without_redis_and_cached() -> None:
    from app.modules.auth.counters_db import DatabaseStorage

    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing"})
    storage = counter_storage(app)
    assert isinstance(storage, DatabaseStorage)
    assert counter_storage(app) is storage


def test_counter_storage_can_be_this_process_memory() -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "AUTH__COUNTER_STORAGE": "memory"})
    assert isinstance(counter_storage(app), MemoryStorage)


@pytest.mark.redis
def test_counter_storage_is_redis_with_a_redis_url(redis_url: str) -> None:
    import redis

    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings({"APP_ENV": "testing", "REDIS_URL": redis_url})
    app.extensions["redis"] = redis.Redis.from_url(redis_url)
    storage = counter_storage(app)
    assert isinstance(storage, RedisStorage)
    RateLimiter(storage, enabled=True).hit("/sign-in/email", IP)
    keys = [key.decode() for key in app.extensions["redis"].keys(f"*{IP}|/sign-in/email*")]
    assert len(keys) == 1 and keys[0].startswith(f"{KEY_PREFIX}:")
    ttl = app.extensions["redis"].ttl(keys[0])
    assert 0 < ttl <= 10  # the counter expires with its window


@pytest.mark.redis
def test_two_apps_share_one_redis_counter(make_app: Callable[..., Flask], redis_url: str) -> None:
    """Two processes' worth of state (two apps, two pools) count the same client together."""
    first, second = (make_app(REDIS_URL=redis_url, AUTH__RATE_LIMIT__ENABLED="true") for _ in range(2))
    one, two = RateLimiter.for_app(first), RateLimiter.for_app(second)
    assert counter_storage(first) is not counter_storage(second)
    one.hit("/api/v1/auth/sign-in/email", IP)
    two.hit("/api/v1/auth/sign-in/email", IP)
    one.hit("/api/v1/auth/sign-in/email", IP)
    with pytest.raises(ApiError):
        two.hit("/api/v1/auth/sign-in/email", IP)


def test_two_apps_without_redis_share_the_database_counters(make_app: Callable[..., Any]) -> None:
    """Two processes' worth of state on one database count together (better-auth's storage: "database")."""
    first, second = (make_app(REDIS_URL="", AUTH__RATE_LIMIT__ENABLED="true") for _ in range(2))
    assert allowed(RateLimiter.for_app(first), "/sign-in/email") == 3
    assert allowed(RateLimiter.for_app(second), "/sign-in/email") == 0


def test_two_apps_with_memory_counters_count_apart(make_app: Callable[..., Any]) -> None:
    first, second = (
        make_app(REDIS_URL="", AUTH__RATE_LIMIT__ENABLED="true", AUTH__COUNTER_STORAGE="memory") for _ in range(2)
    )
    assert allowed(RateLimiter.for_app(first), "/sign-in/email") == 3
    assert allowed(RateLimiter.for_app(second), "/sign-in/email") == 3


def test_a_long_path_is_counted_like_any_other(storage: Storage) -> None:
    """Keys longer than the database column (a 2,000-character path) are stored hashed, and counted."""
    limiter = RateLimiter(storage, enabled=True, window=10, max=2)
    path = "/api/v1/auth/" + "x" * 2000
    assert allowed(limiter, path) == 2
