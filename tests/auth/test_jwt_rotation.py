"""JWKS rotation: new tokens use the newest key, old keys stay published for their grace period,
racing processes mint exactly one key, and a changed secret is recoverable with ``flask auth jwks rotate``."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from sqlalchemy import select, update

from app.extensions import db
from app.modules.auth.jwt.cli import jwks_cli
from app.modules.auth.jwt.keys import current_kid, ensure_signing_key, rotate
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.jwt.tokens import forget_keys
from app.modules.auth.models import utcnow
from tests.auth.helpers import bearer, sign_up
from tests.auth.test_api_key_support import API


def _session(app: Any) -> Any:
    client = app.test_client()
    sign_up(client, "rotate@example.com")
    return client


def _token(client: Any) -> str:
    response = client.get(f"{API}/token")
    assert response.status_code == 200, response.json
    token: str = response.json["token"]
    return token


def _kid(token: str) -> str:
    kid: str = pyjwt.get_unverified_header(token)["kid"]
    return kid


def _published(client: Any) -> list[str]:
    return [key["kid"] for key in client.get(f"{API}/jwks").json["keys"]]


def _cli(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(jwks_cli, list(args))
    assert result.exit_code == 0, result.output
    output: str = result.output
    return output


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(make_app: Any) -> None:
    app = make_app()
    client = _session(app)
    old = _token(client)
    assert "rotated: new signing key" in _cli(app, "rotate")
    new = _token(client)
    assert _kid(new) != _kid(old)
    assert set(_published(client)) == {_kid(old), _kid(new)}
    for token in (old, new):
        assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200

    # Past the grace period the old key leaves /jwks, and its tokens stop verifying.
    with app.app_context():
        db.session.execute(update(Jwks).where(Jwks.id == _kid(old)).values(expires_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    forget_keys(app)
    assert _published(client) == [_kid(new)]
    assert app.test_client().get("/api/v1/me", headers=bearer(old)).status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer(new)).status_code == 200


def test_rotation_interval_mints_a_new_key_when_the_current_one_expires(make_app: Any) -> None:
    app = make_app(AUTH__JWT__ROTATION_INTERVAL="3600", AUTH__JWT__SIGNING_CACHE_TTL="0")
    client = _session(app)
    first = _token(client)
    with app.app_context():
        row = db.session.get(Jwks, _kid(first))
        assert row.expires_at is not None and row.expires_at > utcnow() + timedelta(minutes=59)
        db.session.execute(update(Jwks).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    second = _token(client)
    assert _kid(second) != _kid(first)
    assert set(_published(client)) == {_kid(first), _kid(second)}  # within the grace period


def test_another_process_rotation_is_picked_up_on_an_unknown_kid(make_app: Any) -> None:
    """Two apps on one database stand for two processes: each has its own in-process key cache."""
    overrides = {"AUTH__JWT__REFRESH_MIN_INTERVAL": "0", "AUTH__JWT__SIGNING_CACHE_TTL": "0"}
    verifier = make_app(**overrides)
    signer = make_app(**overrides)
    client = _session(signer)
    first = _token(client)
    assert verifier.test_client().get("/api/v1/me", headers=bearer(first)).status_code == 200  # caches the set
    _cli(signer, "rotate")
    second = _token(client)
    assert verifier.test_client().get("/api/v1/me", headers=bearer(second)).status_code == 200


def _race(app: Any, action: Any, parties: int = 4) -> list[Any]:
    barrier = threading.Barrier(parties)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(action())
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_processes_rotating_at_once_end_with_one_new_key(make_app: Any) -> None:
    app = make_app()
    with app.app_context():
        before = ensure_signing_key().id
    results = _race(app, lambda: getattr(rotate(before), "id", None))
    winners = [kid for kid in results if kid is not None]
    assert len(winners) == 1
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Jwks)) == 2
        assert current_kid() == winners[0]


def test_first_key_is_minted_once_under_a_race(make_app: Any) -> None:
    app = make_app()
    kids = _race(app, lambda: ensure_signing_key().id)
    assert len(set(kids)) == 1
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Jwks)) == 1


def test_a_changed_secret_is_a_clear_error_and_rotate_recovers(make_app: Any) -> None:
    old_app = make_app()
    client = _session(old_app)
    old_token = _token(client)
    cookie = client.get_cookie("better-auth.session_token")
    assert cookie is not None

    new_app = make_app(AUTH__SECRET="another-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    fresh = new_app.test_client()
    sign_up(fresh, "after@example.com")
    session = fresh.get(f"{API}/get-session")
    assert session.status_code == 200 and session.json["user"]["email"] == "after@example.com"
    assert "set-auth-jwt" not in session.headers  # get-session still answers
    response = fresh.get(f"{API}/token")
    assert (response.status_code, response.json["code"]) == (503, "JWKS_KEY_UNREADABLE")
    assert "flask auth jwks rotate" in response.json["message"]
    assert "UNREADABLE" in _cli(new_app, "list")

    _cli(new_app, "rotate")
    new_token = _token(fresh)
    assert "set-auth-jwt" in fresh.get(f"{API}/get-session").headers
    published = _published(fresh)
    assert _kid(old_token) in published and _kid(new_token) in published
    # The old key's public half still verifies what it signed before the change.
    assert new_app.test_client().get("/api/v1/me", headers=bearer(old_token)).status_code == 200
