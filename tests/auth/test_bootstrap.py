"""The admin bootstrap: idempotent, and exactly one admin when several workers start at once."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.modules import ensure_ready
from app.modules.auth.bootstrap import bootstrap_admin
from app.modules.auth.models import Account, User
from tests.conftest import BASE_OVERRIDES

ADMIN = {"ADMIN__EMAIL": "Root@Example.com", "ADMIN__PASSWORD": "a strong admin password"}


def _count(app: Flask) -> tuple[int, int]:
    with app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
        accounts = db.session.scalar(select(func.count()).select_from(Account))
    return int(users or 0), int(accounts or 0)


def test_admin_is_created_verified_with_role_admin(make_app: Any) -> None:
    app = make_app(**ADMIN)
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user is not None
        assert (user.email, user.role, user.email_verified) == ("root@example.com", "admin", True)
    response = app.test_client().post(
        "/api/v1/auth/sign-in/email", json={"email": "root@example.com", "password": "a strong admin password"}
    )
    assert response.status_code == 200 and response.json["user"]["role"] == "admin"


def test_bootstrap_is_idempotent(make_app: Any) -> None:
    app = make_app(**ADMIN)
    second = make_app(**ADMIN)  # a restart
    with second.app_context():
        assert bootstrap_admin(second) is False
    assert _count(app) == (1, 1)


def test_no_admin_without_both_settings(make_app: Any) -> None:
    app = make_app(ADMIN__EMAIL="root@example.com")
    assert _count(app) == (0, 0)


def test_a_bad_admin_password_fails_the_module_not_the_app(make_app: Any) -> None:
    app = make_app(ADMIN__EMAIL="root@example.com", ADMIN__PASSWORD="short")
    response = app.test_client().get("/api/v1/readyz")
    assert response.status_code == 503
    assert response.json["components"]["module:auth"]["status"] == "KO"
    assert _count(app) == (0, 0)


ROUNDS = 6


def _start_worker(database_url: str, start: Any, done: Any, results: Any, rounds: int) -> None:
    """One process starting ``rounds`` times: a fresh app each round, on_ready at the barrier."""
    from app.modules import close_modules, registry

    for _ in range(rounds):
        app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url, **ADMIN})
        start.wait(120)
        ensure_ready(app)
        results.put(registry(app).state.get("auth", "missing"))
        close_modules(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        done.wait(120)


def _forget_the_admin(app: Flask) -> None:
    """Back to a fresh database for the next round: no admin, no account."""
    with app.app_context():
        db.session.execute(Account.__table__.delete())
        db.session.execute(User.__table__.delete())
        db.session.commit()


@pytest.mark.parametrize("workers", [4])
def test_concurrent_workers_make_exactly_one_admin_and_all_are_ready(database_url: str, workers: int) -> None:
    """Real processes (spawned, as separate workers and instances are), all running on_ready at the
    same moment on a database without the admin, ROUNDS times: each round ends with exactly one
    admin and every process ready. Before the fix one PostgreSQL worker in two starts failed."""
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Barrier(workers + 1), ctx.Barrier(workers + 1)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_start_worker, args=(database_url, start, done, results, ROUNDS)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    app = create_app({**BASE_OVERRIDES, "DATABASE_URL": database_url})
    try:
        for round_number in range(ROUNDS):
            _forget_the_admin(app)
            start.wait(120)
            states = sorted(results.get(timeout=120) for _ in range(workers))
            assert states == ["ready"] * workers, f"round {round_number}: {states}"
            assert _count(app) == (1, 1), f"round {round_number}"
            done.wait(120)
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        with app.app_context():
            db.engine.dispose()
