"""``flask auth check``: one PASS/FAIL line per check, exit status 1 on any failure.

Each broken app below is broken the way a real regression would break it (a second registration,
a missing hook, a leaking hook, an unreachable Redis); the diagnostic must name the failing check.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.identity import bind, current
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
    "jwks-keys",
    "encrypted-columns",
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
    assert output.splitlines()[-1] == "auth check: 8 passed, 0 failed"
    with app.app_context():
        for model in (User, Session, Account):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_bridge_registered_twice_fails(app: Flask) -> None:
    app.before_request(app.extensions["auth"].bridge)
    verdicts, code, output = run_check(app)
    assert verdicts["bridge-registered"] == "FAIL"
    assert "2 times, expected 1" in _line(output, "bridge-registered")
    assert code == 1
    assert output.splitlines()[-1].endswith("1 failed")


def test_missing_bridge_fails_registration(app: Flask) -> None:
    app.before_request_funcs[None].remove(app.extensions["auth"].bridge)
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
    remembered: dict[str, Any] = {}  # the bug docs/architecture.md warns about: state shared between requests

    def leaky_hook() -> None:
        if current().user is not None:
            remembered["identity"] = current()
        elif "identity" in remembered:
            bind(remembered["identity"])

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


OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def _write_encrypted_rows(app: Flask) -> str:
    """A signing key, a TOTP secret and OAuth tokens, all encrypted under ``app``'s secret; the kid."""
    from app.modules.auth.crypto import generate_id, symmetric_encrypt
    from app.modules.auth.jwt.keys import ensure_signing_key
    from app.modules.auth.models import utcnow
    from app.modules.auth.two_factor.models import TwoFactor
    from app.modules.auth.two_factor.totp import new_secret, seal

    secret = app.config["SETTINGS"].auth.secret
    with app.app_context():
        kid = ensure_signing_key().id
        now = utcnow()
        user = User(id=generate_id(), name="enc", email="enc@example.com", email_verified=True,
                    created_at=now, updated_at=now)
        db.session.add(user)
        db.session.flush()
        db.session.add(TwoFactor(id=generate_id(), user_id=user.id, secret=seal(new_secret(), secret),
                                 backup_codes="[]", verified=True))
        db.session.add(Account(id=generate_id(), account_id="kc-1", provider_id="keycloak", user_id=user.id,
                               access_token=symmetric_encrypt("at", secret), id_token=symmetric_encrypt("it", secret),
                               created_at=now, updated_at=now))
        db.session.commit()
        db.session.remove()
    return str(kid)


def test_data_written_under_the_same_secret_passes(make_app: Any) -> None:
    app = make_app()
    _write_encrypted_rows(app)
    verdicts, code, output = run_check(app)
    assert (verdicts["jwks-keys"], verdicts["encrypted-columns"]) == ("PASS", "PASS"), output
    assert "3 encrypted values in 5 columns" in _line(output, "encrypted-columns")
    assert code == 0


def test_data_written_under_another_secret_fails_and_says_which(make_app: Any) -> None:
    kid = _write_encrypted_rows(make_app(AUTH__SECRET=OTHER_SECRET))
    app = make_app()  # the configured secret differs from the one the rows were written under
    verdicts, code, output = run_check(app)
    assert code == 1
    assert verdicts["jwks-keys"] == "FAIL"
    assert f"signing key {kid} does not decrypt" in _line(output, "jwks-keys")
    assert verdicts["encrypted-columns"] == "FAIL"
    line = _line(output, "encrypted-columns")
    assert "two_factor.secret: 1 of 1 rows" in line
    assert "account.accessToken: 1 of 1 rows" in line and "account.idToken: 1 of 1 rows" in line
    assert "backupCodes" not in line and "refreshToken" not in line  # hashed codes, no refresh token
    assert output.splitlines()[-1] == "auth check: 6 passed, 2 failed"


def test_a_rotated_key_under_the_new_secret_passes_again(make_app: Any) -> None:
    kid = _write_encrypted_rows(make_app(AUTH__SECRET=OTHER_SECRET))
    app = make_app()
    result = app.test_cli_runner().invoke(args=["jwks", "rotate"])
    assert result.exit_code == 0 and f"retired {kid}" in result.output
    verdicts, _code, output = run_check(app)
    assert verdicts["jwks-keys"] == "PASS"
    assert "1 retired key(s) under another secret" in _line(output, "jwks-keys")
