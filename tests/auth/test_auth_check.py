"""``flask auth check``: one PASS/FAIL line per check, exit status 1 on any failure.

Each broken app below is broken the way a real regression would break it (a second registration,
a missing hook, a leaking hook, an unreachable Redis); the diagnostic must name the failing check.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import func, select

from app.extensions import db
from app.modules.auth import bridge as bridge_module
from app.modules.auth.models import Account, Session, User

CHECKS = (
    "bridge-registered",
    "bridge-exclusions",
    "cookie-session-round-trip",
    "fresh-request-state",
    "guards-installed",
    "redis",
)


def run_check(app: Flask) -> tuple[dict[str, str], int, str]:
    """Invoke ``flask auth check``; returns ({check: "PASS"|"FAIL"}, exit code, output)."""
    result = app.test_cli_runner().invoke(args=["auth", "check"])
    verdicts = {}
    for line in result.output.splitlines():
        verdict, _, rest = line.partition(" ")
        if verdict in ("PASS", "FAIL"):
            verdicts[rest.split(":", 1)[0]] = verdict
    return verdicts, result.exit_code, result.output


def _line(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if line.split(" ", 1)[-1].startswith(check + ":"))


def test_healthy_app_passes_every_check_and_leaves_no_user(app: Flask) -> None:
    verdicts, code, output = run_check(app)
    assert verdicts == {name: "PASS" for name in CHECKS}, output
    assert code == 0
    assert output.splitlines()[-1] == "auth check: 6 passed, 0 failed"
    with app.app_context():
        for model in (User, Session, Account):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_bridge_registered_twice_fails(app: Flask) -> None:
    app.before_request(app.extensions["auth.bridge"])
    verdicts, code, output = run_check(app)
    assert verdicts["bridge-registered"] == "FAIL"
    assert "2 times, expected 1" in _line(output, "bridge-registered")
    assert code == 1
    assert output.splitlines()[-1].endswith("1 failed")


def test_missing_bridge_fails_registration(app: Flask) -> None:
    app.before_request_funcs[None].remove(app.extensions["auth.bridge"])
    verdicts, code, output = run_check(app)
    assert verdicts["bridge-registered"] == "FAIL"
    assert "0 times" in _line(output, "bridge-registered")
    # The guards resolve on demand, so /me still answers: only the registration check can tell.
    assert verdicts["cookie-session-round-trip"] == "PASS"
    assert code == 1


def test_unnormalized_exclusions_fail(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge_module, "normalize_path", lambda path: path)  # the regression: no normalizing
    verdicts, code, output = run_check(app)
    assert verdicts["bridge-exclusions"] == "FAIL"
    assert "//api/v1/healthz/" in _line(output, "bridge-exclusions")
    assert verdicts["bridge-registered"] == "PASS"
    assert code == 1


def test_identity_leaking_between_requests_fails(app: Flask) -> None:
    remembered: dict[str, Any] = {}  # the bug DESIGN.md warns about: state shared between requests

    def leaky_hook() -> None:
        if g.get("user") is not None:
            remembered["user"] = g.user
        elif "user" in remembered:
            g.user = remembered["user"]

    app.before_request(leaky_hook)
    verdicts, code, output = run_check(app)
    assert verdicts["fresh-request-state"] == "FAIL", output
    assert verdicts["cookie-session-round-trip"] == "PASS"
    assert code == 1


def test_missing_guards_fail(app: Flask) -> None:
    del app.extensions["access_policy"]
    verdicts, code, output = run_check(app)
    assert verdicts["guards-installed"] == "FAIL"
    assert "guards let every request through" in _line(output, "guards-installed")
    assert code == 1


def test_unreachable_redis_fails(make_app: Any) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    verdicts, code, output = run_check(app)
    assert verdicts["redis"] == "FAIL"
    assert "127.0.0.1:1/0 unreachable" in _line(output, "redis")
    assert verdicts["bridge-registered"] == "PASS" and verdicts["guards-installed"] == "PASS"
    assert code == 1


@pytest.mark.redis
def test_reachable_redis_passes(make_app: Any, redis_url: str) -> None:
    app = make_app(REDIS_URL=redis_url)
    verdicts, code, output = run_check(app)
    assert "answers PING" in _line(output, "redis")
    assert verdicts == {name: "PASS" for name in CHECKS}, output
    assert code == 0
