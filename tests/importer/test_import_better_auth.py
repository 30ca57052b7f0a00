"""Moving a real better-auth deployment here: its users, factors, organizations, keys and sessions.

A real better-auth 1.7.25 runs on a fresh SQLite file or PostgreSQL database and is driven by its
official client (``seed-better-auth.mjs``); ``flask auth import better-auth`` then moves the data
into this project (on the suite's backend, SQLite or PostgreSQL), and the official client checks,
against our server, what its users will do the morning after (``verify-import.mjs``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.modules.auth.crypto import hash_token, symmetric_decrypt
from app.modules.auth.models import Account, Session, User
from app.modules.auth.organization.models import Team
from tests.conftest import PG_SERVER, create_pg_database, drop_pg_database
from tests.importer.support import SECRET, changes, run_import, seed_better_auth, verify_against
from tests.oidc.browser import location
from tests.oidc.provider import OidcProvider, oidc_provider  # noqa: F401  (fixture)
from tests.oidc.server import OidcServer, make_oidc_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.node


ERIN = {"sub": "kc-erin", "email": "erin@example.com", "email_verified": True, "given_name": "Erin",
        "family_name": "Keycloak", "name": "Erin Keycloak", "preferred_username": "erin"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source(request: pytest.FixtureRequest, oidc_provider: OidcProvider) -> Any:  # noqa: F811
    """A fresh better-auth database seeded through its client: (URL, what the seed saw)."""
    oidc_provider.set_accounts({"erin": ERIN})
    tmp_path: Path = request.getfixturevalue("tmp_path")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'better-auth.db'}"
        yield url, seed_better_auth(url, oidc_provider.issuer)
        return
    if not PG_SERVER:
        pytest.skip("needs TEST_DATABASE_URL")
    url = create_pg_database()
    try:
        yield url, seed_better_auth(url, oidc_provider.issuer)
    finally:
        drop_pg_database(url)


def _audit_entries(server: OidcServer) -> list[dict[str, Any]]:
    from app.modules.audit.models import AuditLog

    with server.app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "auth.import")).all()
        return [dict(row.details or {}) for row in rows]


@pytest.mark.modules("audit")
def test_a_better_auth_deployment_moves_without_signing_anyone_out(
    source: tuple[str, dict[str, Any]], make_oidc_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    url, seed = source
    assert seed["sessionUserEmail"] == "bob@example.com"  # the cookie worked on better-auth itself
    server: OidcServer = make_oidc_server(AUTH__SECRET=SECRET, MODULES__AUDIT="true")

    dry_code, dry, _ = run_import(server.app, url, "--dry-run")
    assert dry_code == 0 and dry["user"]["imported"] == 5
    with server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0  # a dry run writes nothing
    assert _audit_entries(server) == []

    code, counts, output = run_import(server.app, url)
    assert code == 0, output
    assert counts == {**dry, **counts} and counts == dry  # the dry run announced exactly this
    assert {k: counts[k]["imported"] for k in counts} == {
        "user": 5, "account": 6, "session": 5, "verification": 1, "twoFactor": 1, "organization": 1,
        "member": 2, "invitation": 2, "team": 2, "teamMember": 1, "apikey": 1, "jwks": 1,
    }
    assert counts["session"]["skipped"] == 1  # the expired one
    assert (counts["team"]["skipped"], counts["teamMember"]["skipped"]) == (0, 0)  # the default team and "Platform"
    assert all(c["refused"] == 0 for c in counts.values())

    out = verify_against(server.url, seed, tmp_path)
    for email in ("admin@example.com", "bob@example.com"):
        assert out["signIn"][email]["status"] == 200, out["signIn"][email]
        assert out["signIn"][email]["data"]["user"]["email"] == email
    assert (out["signIn"]["carol@example.com"]["status"], out["signIn"]["carol@example.com"]["code"]) == (
        403, "BANNED_USER")
    assert out["wrongPassword"]["code"] == "INVALID_EMAIL_OR_PASSWORD"
    assert out["aliceChallenge"]["data"]["twoFactorRedirect"] is True
    assert out["aliceTotp"]["status"] == 200 and out["aliceTotp"]["data"]["user"]["email"] == "alice@example.com"
    assert out["backupCode"]["status"] == 200
    assert out["backupCodeAgain"]["code"] == "INVALID_BACKUP_CODE"  # still single-use
    assert out["oldCookie"]["data"]["user"]["email"] == "bob@example.com"
    assert out["apiKey"]["data"]["user"]["email"] == "alice@example.com"
    assert out["jwt"] == {"ok": True, "sub": seed["ids"]["bob"], "email": "bob@example.com"}
    assert [o["slug"] for o in out["aliceOrgs"]["data"]] == ["acme"]
    roles = {m["user"]["email"]: m["role"] for m in out["fullOrg"]["data"]["members"]}
    assert roles == {"alice@example.com": "owner", "bob@example.com": "admin"}
    assert [i["email"] for i in out["fullOrg"]["data"]["invitations"] if i["status"] == "pending"] == [
        "dave@example.com"]
    assert out["bobRole"]["data"] == {"role": "admin"}
    assert out["resetLink"]["status"] == 302 and "token=" in out["resetLink"]["location"]

    with server.app.app_context():
        hashes = dict(db.session.execute(
            select(User.email, Account.password).join(Account, Account.user_id == User.id)
            .where(Account.provider_id == "credential")).all())
        assert all(hashes[e].startswith("$argon2id$") for e in ("admin@example.com", "bob@example.com",
                                                                 "alice@example.com"))
        oauth = db.session.scalar(
            select(Account).where(Account.provider_id == "keycloak", Account.user_id == seed["ids"]["bob"]))
        assert oauth is not None and oauth.access_token and "kc-access-token-bob" not in oauth.access_token
        assert symmetric_decrypt(oauth.access_token, SECRET) == "kc-access-token-bob"
        erin = db.session.scalar(
            select(Account).where(Account.provider_id == "keycloak", Account.user_id == seed["erin"]["id"]))
        assert erin is not None and erin.account_id == "kc-erin"
        assert symmetric_decrypt(erin.access_token, SECRET) == seed["erin"]["accessToken"]  # better-auth's, re-sealed
        token = unquote(seed["sessionCookie"]).rsplit(".", 1)[0]
        stored = db.session.scalar(select(Session).where(Session.token == hash_token(token)))
        assert stored is not None and stored.user.email == "bob@example.com"  # its hash, never the token
        assert db.session.scalar(select(func.count()).select_from(Session).where(Session.token == token)) == 0
        teams = dict(db.session.execute(select(Team.name, Team.organization_id)).all())
        assert teams == {"Acme": seed["ids"]["org"], "Platform": seed["ids"]["org"]}  # the default team too

    # erin signs in through Keycloak here: her linked account is found, she is not a new user.
    browser = server.browser()
    assert location(browser.sign_in("erin")) == "/dashboard"  # not newUserCallbackURL
    assert browser.get_session()["user"]["id"] == seed["erin"]["id"]

    again_code, again, output = run_import(server.app, url)
    assert again_code == 0, output
    assert changes(again) == 0, json.dumps(again)
    entries = _audit_entries(server)
    assert len(entries) == 2 and entries[0]["tables"]["user"]["imported"] == 5
