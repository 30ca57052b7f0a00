"""SQLite enforces foreign keys, so deleting a user cascades in every table on both backends."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from app.extensions import db
from tests.auth.helpers import PASSWORD, post, sign_up


def test_foreign_keys_are_on(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_deleting_a_user_cascades_into_plugin_tables(make_app: Any) -> None:
    from app.modules.auth.organization.models import Member

    app: Flask = make_app(AUTH__DELETE_USER__ENABLED="true")
    client = app.test_client()
    sign_up(client, "a@example.com")
    assert post(client, "/organization/create", {"name": "Acme", "slug": "acme"}).status_code == 200
    assert post(client, "/delete-user", {"password": PASSWORD}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 0
