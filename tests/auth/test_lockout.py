"""AccountLockout: OWASP account lockout, in memory and in a real Redis."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from limits.storage import MemoryStorage, Storage

from app.modules.auth.counters import build_storage
from app.modules.auth.lockout import AccountLockout, identifier_digest
from config import load_settings

SECRET = b"lockout-test-secret-0123456789abcdef"
EMAIL = "alice@example.com"


@pytest.fixture(params=["memory", "database", pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "database":  # the configured backend's database (SQLite or PostgreSQL)
        app = request.getfixturevalue("make_app")(AUTH__COUNTER_STORAGE="database")
        yield build_storage(None, app=app, kind="database")
    else:
        yield build_storage(request.getfixturevalue("redis_url"))


def lockout(storage: Storage, **options: int | bool) -> AccountLockout:
    values: dict[str, int | bool] = {"max_failures": 3, "window": 900, "duration": 900, **options}
    return AccountLockout(storage, secret=SECRET, **values)  # type: ignore[arg-type]


def test_locks_after_max_failures_and_not_before(storage: Storage) -> None:
    guard = lockout(storage)
    for _ in range(2):
        guard.record_failure(EMAIL)
        assert not guard.is_locked(EMAIL)
    guard.record_failure(EMAIL)
    assert guard.is_locked(EMAIL)


def test_accounts_are_locked_apart(storage: Storage) -> None:
    guard = lockout(storage, max_failures=1)
    guard.record_failure(EMAIL)
    assert guard.is_locked(EMAIL)
    assert not guard.is_locked("bob@example.com")


def test_the_email_is_normalized(storage: Storage) -> None:
    guard = lockout(storage)
    guard.record_failure("Alice@Example.COM")
    guard.record_failure(" alice@example.com ")
    guard.record_failure(EMAIL)
    assert guard.is_locked("ALICE@EXAMPLE.COM")


def test_reset_clears_failures_and_lock(storage: Storage) -> None:
    guard = lockout(storage)
    guard.record_failure(EMAIL)
    guard.record_failure(EMAIL)
    guard.reset(EMAIL)
    guard.record_failure(EMAIL)
    assert not guard.is_locked(EMAIL)  # the two earlier failures were forgotten
    guard.record_failure(EMAIL)
    guard.record_failure(EMAIL)
    assert guard.is_locked(EMAIL)
    guard.reset(EMAIL)
    assert not guard.is_locked(EMAIL)


def test_disabled_never_locks(storage: Storage) -> None:
    guard = lockout(storage, max_failures=1, enabled=False)
    for _ in range(5):
        guard.record_failure(EMAIL)
    assert not guard.is_locked(EMAIL)


def test_locks_and_windows_end(storage: Storage) -> None:
    locked = lockout(storage, max_failures=2, duration=1)
    counting = lockout(storage, max_failures=2, window=1)
    locked.record_failure(EMAIL)
    locked.record_failure(EMAIL)
    locked.record_failure(EMAIL)  # while locked: not counted towards the next lock
    counting.record_failure("bob@example.com")
    assert locked.is_locked(EMAIL)
    time.sleep(1.1)
    assert not locked.is_locked(EMAIL)  # the lock lasts `duration`, not for ever
    locked.record_failure(EMAIL)
    assert not locked.is_locked(EMAIL)  # the count starts afresh after a lock
    counting.record_failure("bob@example.com")
    assert not counting.is_locked("bob@example.com")  # the first failure fell out of the window


def test_the_key_is_a_keyed_hash_not_the_email_nor_its_plain_hash() -> None:
    digest = identifier_digest(EMAIL, SECRET)
    assert EMAIL not in digest
    assert digest != hashlib.sha256(EMAIL.encode()).hexdigest()
    assert digest != identifier_digest(EMAIL, b"another-secret")
    assert digest == identifier_digest(" Alice@Example.com", SECRET)


@pytest.mark.redis
def test_no_plaintext_email_reaches_redis(redis_url: str) -> None:
    import redis

    guard = lockout(build_storage(redis_url), max_failures=2)
    guard.record_failure(EMAIL)
    guard.record_failure("carol@example.com")
    guard.record_failure("carol@example.com")
    client = redis.Redis.from_url(redis_url)
    keys = [key.decode() for key in client.keys("*lockout*")]
    assert any(identifier_digest(EMAIL, SECRET) in key for key in keys)
    assert any(identifier_digest("carol@example.com", SECRET) in key for key in keys)
    for key in keys:
        assert "@" not in key and "example" not in key
        assert b"example" not in (client.get(key) or b"")


def test_for_app_reads_the_lockout_settings() -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings(
        {
            "APP_ENV": "testing",
            "AUTH__SECRET": "s" * 40,
            "AUTH__LOCKOUT__MAX_FAILURES": "2",
            "AUTH__COUNTER_STORAGE": "memory",
        }
    )
    guard = AccountLockout.for_app(app)
    assert guard is AccountLockout.for_app(app)
    guard.record_failure(EMAIL)
    assert not guard.is_locked(EMAIL)
    guard.record_failure(EMAIL)
    assert guard.is_locked(EMAIL)


def test_for_app_can_be_switched_off() -> None:
    app = Flask(__name__)
    app.config["SETTINGS"] = load_settings(
        {
            "APP_ENV": "testing",
            "AUTH__SECRET": "s" * 40,
            "AUTH__LOCKOUT__ENABLED": "false",
            "AUTH__COUNTER_STORAGE": "memory",
            "AUTH__LOCKOUT__MAX_FAILURES": "1",
        }
    )
    guard = AccountLockout.for_app(app)
    guard.record_failure(EMAIL)
    assert not guard.is_locked(EMAIL)


@pytest.mark.redis
def test_two_apps_share_one_lockout_through_redis(make_app: Callable[..., Flask], redis_url: str) -> None:
    first, second = (make_app(REDIS_URL=redis_url, AUTH__LOCKOUT__MAX_FAILURES="2") for _ in range(2))
    AccountLockout.for_app(first).record_failure(EMAIL)
    AccountLockout.for_app(second).record_failure(EMAIL)
    assert AccountLockout.for_app(first).is_locked(EMAIL)
    AccountLockout.for_app(second).reset(EMAIL)
    assert not AccountLockout.for_app(first).is_locked(EMAIL)
