"""Migrations: one Alembic branch per module, up, down to base and up again, matching the models;
and a database made by the former single chain (0001..0014) adopted by the next upgrade.

A model changed without a migration makes ``compare_metadata`` report a difference, and fails here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate.cli import db as db_command
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.core.migrations import SINGLE_CHAIN, version_locations
from app.extensions import db
from app.modules import close_modules, import_all_models
from tests.conftest import BASE_OVERRIDES, create_pg_database, drop_pg_database, module_present

FIXTURES = Path(__file__).parent / "fixtures"


def _flask_db(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(db_command, list(args))
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}\n{result.exception!r}"


def _differences(app: Flask) -> list[Any]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _versions(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _heads(app: Flask) -> set[str]:
    """Every branch's head, less those another branch depends on (Alembic keeps only the dependant)."""
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    needed: set[str] = set()
    for revision in script.walk_revisions():
        dependencies = revision.dependencies or ()
        needed.update((dependencies,) if isinstance(dependencies, str) else dependencies)
    return set(script.get_heads()) - needed


def _app(url: str) -> Flask:
    """Every module present switched on (a deleted module's folder takes its migrations with it)."""
    import_all_models()
    present = {f"MODULES__{name.upper()}": "true" for name in ("tenant", "audit", "example") if module_present(name)}
    return create_app({**BASE_OVERRIDES, "DATABASE_URL": url, **present})


def _close(app: Flask) -> None:
    close_modules(app)
    with app.app_context():
        db.engine.dispose()


def _round_trip(url: str) -> None:
    app = _app(url)
    try:
        _flask_db(app, "upgrade")
        assert _versions(app) == _heads(app), "`flask db upgrade` upgrades every branch's head"
        assert _differences(app) == [], "models and migrations disagree: add a migration"
        model_tables = set(db.metadata.tables)
        assert model_tables <= _tables(app)

        _flask_db(app, "downgrade", "base")
        assert _tables(app) - {"alembic_version"} == set()

        _flask_db(app, "upgrade")
        assert _differences(app) == []
        assert model_tables <= _tables(app)
    finally:
        _close(app)


def test_each_module_owns_a_branch_in_its_folder() -> None:
    locations = [Path(p).relative_to(Path(__file__).parent.parent).as_posix() for p in version_locations()]
    assert locations[0] == "migrations/versions"
    present = {p.split("/")[2] for p in locations[1:]}
    assert present >= {"auth"}
    for location in map(Path, version_locations()):
        for path in location.glob("*.py"):
            assert len(path.stem) <= 32, f"{path.name}: revision ids fit alembic_version's 32 characters"
            assert path.stem.startswith(("app_", *(f"{name}_" for name in present))), path


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'migrations.db'}")


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_upgrade(fresh_pg_database: str) -> None:
    _round_trip(fresh_pg_database)


# -- adoption of a single-chain database ------------------------------------------------------------


def _adopt(url: str) -> Flask:
    """Upgrade a database loaded from the 0014 fixture; check what the single chain left is kept."""
    app = _app(url)
    _flask_db(app, "upgrade")
    assert _versions(app) == _heads(app)
    # every module branch the old chain stood for is there, upgraded past it to its head
    assert {rev.split("_")[0] for rev in SINGLE_CHAIN["0014_web_session"]} <= {
        rev.split("_")[0] for rev in _versions(app)
    }
    assert _differences(app) == []
    with app.app_context():
        rows = db.session.execute(text('SELECT p.name, o.slug FROM project p JOIN organization o '
                                       'ON o.id = p."organizationId"')).all()
        assert [tuple(row) for row in rows] == [("Kept", "org")]
        assert db.session.execute(text('SELECT email FROM "user"')).scalars().all() == ["ada@example.com"]
    _flask_db(app, "upgrade")  # nothing left to do
    return app


#: The fixtures hold every module's tables of the single chain.
FULL_CHAIN = pytest.mark.modules("audit", "tenant", "example")


@FULL_CHAIN
def test_sqlite_single_chain_database_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((FIXTURES / "chain_0014.sqlite.sql").read_text())
    app = _adopt(f"sqlite:///{path}")
    try:
        _flask_db(app, "downgrade", "base")
        assert _tables(app) - {"alembic_version"} == set()
    finally:
        _close(app)


@FULL_CHAIN
@pytest.mark.postgres
def test_postgres_single_chain_database_is_adopted(fresh_pg_database: str) -> None:
    engine = create_engine(fresh_pg_database)
    raw = engine.raw_connection()  # the dump as psql would run it: no parameter parsing
    try:
        raw.cursor().execute((FIXTURES / "chain_0014.postgres.sql").read_text())
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    app = _adopt(fresh_pg_database)
    try:
        with app.app_context():
            policy = db.session.execute(text(
                "SELECT qual FROM pg_policies WHERE tablename = 'project' AND policyname = 'tenant_isolation'"
            )).scalar_one()
            assert "app_tenant_matches" in policy, "the adopted policy is the tenant module's"
            forced = db.session.execute(text(
                "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = 'project'")).scalar_one()
            assert forced
        _flask_db(app, "downgrade", "base")
        assert _tables(app) - {"alembic_version"} == set()
    finally:
        _close(app)
