"""Migrations go up, down to base and up again, and leave a schema that matches the models.

A model changed without a migration makes ``compare_metadata`` report a difference, and fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate.cli import db as db_command
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from app.modules import close_modules, import_all_models
from tests.conftest import BASE_OVERRIDES, create_pg_database, drop_pg_database


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


def _round_trip(url: str) -> None:
    import_all_models()
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": url, "MODULES__TENANT": "true", "MODULES__AUDIT": "true"})
    try:
        _flask_db(app, "upgrade")
        assert _differences(app) == [], "models and migrations disagree: add a migration"
        model_tables = set(db.metadata.tables)
        assert model_tables <= _tables(app)

        _flask_db(app, "downgrade", "base")
        assert _tables(app) - {"alembic_version"} == set()

        _flask_db(app, "upgrade")
        assert _differences(app) == []
        assert model_tables <= _tables(app)
    finally:
        close_modules(app)
        with app.app_context():
            db.engine.dispose()


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
