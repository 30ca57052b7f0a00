"""Test fixtures: one fresh app per test, on SQLite or on a real PostgreSQL and Redis.

- ``TEST_BACKEND``: ``sqlite`` (default without ``TEST_DATABASE_URL``) or ``postgres`` (default
  with it): the database every ``make_app`` app uses.
- ``TEST_DATABASE_URL``: a PostgreSQL server; the session creates its own database there and drops
  it at the end. Tests marked ``postgres`` use it whatever the backend.
- ``TEST_REDIS_URL``: a Redis server; with the postgres backend every app also uses it, and tests
  marked ``redis`` use it whatever the backend. Each xdist worker takes its own Redis database,
  flushed after every test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from app import create_app

os.environ["APP_ENV_FILE"] = ""  # never read a developer's .env in tests

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PG_SERVER = os.environ.get("TEST_DATABASE_URL") or None
REDIS_SERVER = os.environ.get("TEST_REDIS_URL") or None
BACKEND = os.environ.get("TEST_BACKEND") or ("postgres" if PG_SERVER else "sqlite")

BASE_OVERRIDES: dict[str, Any] = {
    "APP_ENV": "testing",
    "AUTH__SECRET": TEST_SECRET,
    "AUTH__BASE_URL": "http://localhost",
    "LOG_LEVEL": "WARNING",
    # A cheap hasher: argon2 at its floor (hashing itself is tested in tests/auth/test_passwords.py).
    "AUTH__ARGON2__MEMORY_COST": "8",
    "AUTH__ARGON2__TIME_COST": "1",
}


def pytest_configure(config: pytest.Config) -> None:
    if BACKEND not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"TEST_BACKEND={BACKEND!r}: expected sqlite or postgres")
    if BACKEND == "postgres" and not PG_SERVER:
        raise pytest.UsageError("TEST_BACKEND=postgres needs TEST_DATABASE_URL")


#: Test folders that belong to a module: not collected when the module's folder was deleted.
MODULE_TEST_DIRS: dict[str, tuple[str, ...]] = {"audit": ("audit",), "tenant": ("tenant", "example")}


def module_present(name: str) -> bool:
    return (Path(__file__).resolve().parent.parent / "app" / "modules" / name / "__init__.py").is_file()


collect_ignore = [folder for folder, needs in MODULE_TEST_DIRS.items() if not all(map(module_present, needs))]


def _deselect_tests_of_removed_modules(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.modules("audit")``: the test goes with the module when its folder is deleted."""
    kept, removed = [], []
    for item in items:
        needs = [name for marker in item.iter_markers("modules") for name in marker.args]
        (kept if all(map(module_present, needs)) else removed).append(item)
    if removed:
        config.hook.pytest_deselected(items=removed)
        items[:] = kept


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_tests_of_removed_modules(config, items)
    reasons = {
        "postgres": None if PG_SERVER else "needs TEST_DATABASE_URL (a PostgreSQL server)",
        "redis": None if REDIS_SERVER else "needs TEST_REDIS_URL (a Redis server)",
        "node": None if shutil.which("node") and shutil.which("npm") else "needs node and npm",
        "browser": None if shutil.which("chromium") else "needs chromium",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def _migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


# -- databases -----------------------------------------------------------------------------


def _pg_admin_url() -> str:
    assert PG_SERVER
    return make_url(PG_SERVER).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def create_pg_database() -> str:
    """A new, empty database on the test server; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session (one per xdist worker)."""
    if not PG_SERVER:
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server)")
    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    yield url
    drop_pg_database(url)


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(
            # revocation_epoch keeps counting: caches of the revocation sequence must never see it go back
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                 "AND tablename NOT IN ('alembic_version', 'revocation_epoch')")
        ).scalars().all()
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrations run once, every test starts clean."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": f"sqlite:///{path}"}))
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """This test's clean database, on the configured backend."""
    if BACKEND == "postgres":
        url = request.getfixturevalue("pg_database")
        yield url
        _truncate_all(url)
    else:
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "app.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of this worker's own, flushed after the test."""
    if not REDIS_SERVER:
        pytest.skip("needs TEST_REDIS_URL (a Redis server)")
    import redis

    base = REDIS_SERVER.rstrip("/").rsplit("/", 1)[0] if REDIS_SERVER.count("/") > 2 else REDIS_SERVER.rstrip("/")
    worker_url = f"{base}/{1 + _worker_index() % 15}"
    client = redis.Redis.from_url(worker_url)
    client.flushdb()
    yield worker_url
    client.flushdb()
    client.close()


# -- apps ---------------------------------------------------------------------------------

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[AppFactory]:
    """``make_app(MODULES__AUDIT="true", ...)``: a fresh app on this test's database, made ready."""
    from app.modules import close_modules, ensure_ready

    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        # The audit spool of this test only: a replay must never reach another test's database.
        values = {**BASE_OVERRIDES, "DATABASE_URL": database_url, "MODULES__AUDIT__SPOOL_DIR": str(tmp_path / "spool"),
                  # Production's 80/50 ms Redis timeouts trip the circuit breaker on this loaded 2-core
                  # machine (two xdist workers, gunicorn, Chromium), and a test then checks the fallback
                  # instead of the Redis path it meant. The fault drills run gunicorn with the defaults.
                  "REDIS_SOCKET_TIMEOUT": "1.0", "REDIS_CONNECT_TIMEOUT": "1.0"}
        if BACKEND == "postgres" and REDIS_SERVER:
            values["REDIS_URL"] = request.getfixturevalue("redis_url")
        values.update(overrides)
        app = create_app(values)
        ensure_ready(app)
        made.append(app)
        return app

    yield factory
    for app in made:
        close_modules(app)
        from app.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()
