"""``flask auth keys``: list, revoke, purge-expired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.modules.auth.api_key.cli import keys_cli
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.models import utcnow
from tests.auth.test_api_key_support import add_guarded_routes, create_key, key_headers, signed_in_client


def _run(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(keys_cli, list(args))


def test_list_shows_keys_without_their_secret(make_app: Any) -> None:
    app = make_app()
    client, user = signed_in_client(app)
    created = create_key(client, name="deploy", prefix="ops_")
    result = _run(app, "list", "--owner", user["id"])
    assert result.exit_code == 0
    assert created["id"] in result.output and "deploy" in result.output and created["start"] in result.output
    assert created["key"] not in result.output
    assert created["id"] not in _run(app, "list", "--owner", "somebody-else").output


def test_revoke_stops_the_key_at_once(make_app: Any) -> None:
    app = add_guarded_routes(make_app())
    client, _ = signed_in_client(app)
    created = create_key(client)
    assert app.test_client().get("/api/v1/probe/auth", headers=key_headers(created["key"])).status_code == 200
    result = _run(app, "revoke", created["id"])
    assert result.exit_code == 0, result.output
    response = app.test_client().get("/api/v1/probe/auth", headers=key_headers(created["key"]))
    assert (response.status_code, response.json["code"]) == (401, "INVALID_API_KEY")
    missing = _run(app, "revoke", created["id"])
    assert missing.exit_code != 0 and "no API key" in missing.output


def test_purge_expired_deletes_only_expired_keys(make_app: Any) -> None:
    app = make_app()
    client, _ = signed_in_client(app)
    expired = create_key(client, name="old")["id"]
    kept = create_key(client, name="new", expiresIn=3 * 86400)["id"]
    forever = create_key(client, name="forever")["id"]
    with app.app_context():
        db.session.execute(update(ApiKey).where(ApiKey.id == expired).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    result = _run(app, "purge-expired")
    assert result.exit_code == 0 and "purged 1 expired key(s)" in result.output
    with app.app_context():
        assert db.session.get(ApiKey, expired) is None
        assert db.session.get(ApiKey, kept) is not None and db.session.get(ApiKey, forever) is not None
