"""What the importer carries over, skips and refuses, on a hand-made source with custom names.

The source uses a table prefix, snake_case columns and a mapping file (as Prisma/Drizzle schemas
or ``modelName``/``fieldName`` options leave a better-auth database); its rows include what must
be refused, each with its reason: a secret encrypted with another key, an email another user has
here, a session of a user who is not there, a value too long for our column.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.modules.auth.crypto import hash_token, symmetric_decrypt, symmetric_encrypt
from app.modules.auth.importer.secrets import BetterAuthKeys, DecryptionError, parse_versioned
from app.modules.auth.importer.values import as_bool, as_datetime
from app.modules.auth.models import Account, Session, User
from app.modules.auth.passwords import scrypt_hash
from app.modules.auth.two_factor import backup_codes
from app.modules.auth.two_factor.models import TwoFactor
from tests.importer.support import SECRET, run_import

NOW = datetime.now(UTC)
#: This project's secret differs from better-auth's here: everything is re-sealed with ours.
OUR_SECRET = "our-own-secret-0123456789-abcdefghijklmnop"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _source(path: Path) -> None:
    later, earlier = _iso(NOW + timedelta(days=3)), _iso(NOW - timedelta(days=3))
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE auth_user (id text primary key, name text, email text, email_verified integer,
                                    created_at text, updated_at text);
            CREATE TABLE credentials (id text primary key, account_id text, provider text, user_id text,
                                      password text, created_at text, updated_at text);
            CREATE TABLE auth_session (id text primary key, expires_at text, token text, user_id text,
                                       created_at text, updated_at text);
            CREATE TABLE auth_two_factor (id text primary key, secret text, backup_codes text, user_id text);
        """)
        conn.executemany("INSERT INTO auth_user VALUES (?,?,?,?,?,?)", [
            ("u1", "Una", "Una@Example.com", 1, earlier, earlier),
            ("u2", "Taken", "taken@example.com", 0, earlier, earlier),
            ("u3", "x" * 300, "long@example.com", 0, earlier, earlier),
            ("u4", "Vic", "vic@example.com", 0, earlier, earlier),
        ])
        conn.execute("INSERT INTO credentials VALUES (?,?,?,?,?,?,?)",
                     ("a1", "u1", "credential", "u1", scrypt_hash("una password 1"), earlier, earlier))
        conn.executemany("INSERT INTO auth_session VALUES (?,?,?,?,?,?)", [
            ("s1", later, "live-token", "u1", earlier, earlier),
            ("s2", earlier, "old-token", "u1", earlier, earlier),
            ("s3", later, "orphan-token", "nobody", earlier, earlier),
        ])
        conn.executemany("INSERT INTO auth_two_factor VALUES (?,?,?,?)", [
            ("t1", symmetric_encrypt("S" * 32, SECRET), json.dumps(["aaaaa-bbbbb", "ccccc-ddddd"]), "u1"),
            ("t4", symmetric_encrypt("V" * 32, "another-secret-0123456789-abcdefghij"),
             symmetric_encrypt("[]", SECRET), "u4"),
        ])


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"tables": {"account": "credentials"},
                                "columns": {"account": {"providerId": "provider"}}}))
    return path


def test_names_are_mapped_and_every_refusal_has_its_reason(make_app: Any, tmp_path: Path, mapping: Path) -> None:
    source = tmp_path / "custom.db"
    _source(source)
    app = make_app(AUTH__SECRET=OUR_SECRET)
    with app.app_context():
        db.session.add(User(id="here", name="Here", email="taken@example.com", created_at=NOW, updated_at=NOW))
        db.session.commit()

    code, counts, output = run_import(app, f"sqlite:///{source}", "--table-prefix", "auth_", "--mapping", str(mapping))
    assert code == 1, output  # refusals: exit status 1
    assert (counts["user"]["imported"], counts["user"]["refused"]) == (2, 2)
    assert counts["user"]["refusals"] == {"email already belongs to another user here": 1,
                                          "name is longer than 255 characters": 1}
    assert counts["account"]["imported"] == 1
    assert (counts["session"]["imported"], counts["session"]["skipped"], counts["session"]["refused"]) == (1, 1, 1)
    assert counts["session"]["refusals"] == {"user_id refers to a user that is not here": 1}
    assert (counts["twoFactor"]["imported"], counts["twoFactor"]["refused"]) == (1, 1)
    [reason] = counts["twoFactor"]["refusals"]
    assert reason.startswith("TOTP secret does not decrypt with the given better-auth secret")

    with app.app_context():
        una = db.session.get(User, "u1")
        assert una is not None and una.email == "una@example.com" and una.email_verified and una.role == "user"
        assert db.session.get(User, "here").name == "Here"  # the user already here is left alone
        assert db.session.scalar(select(Account.provider_id).where(Account.id == "a1")) == "credential"
        assert db.session.scalar(select(Session.token).where(Session.id == "s1")) == hash_token("live-token")
        row = db.session.get(TwoFactor, "t1")
        assert row is not None and symmetric_decrypt(row.secret, OUR_SECRET) == "S" * 32
        assert row.backup_codes == backup_codes.encode(["aaaaa-bbbbb", "ccccc-ddddd"])
        assert db.session.get(TwoFactor, "t4") is None

    # the text report names each reason and the ids refused for it
    result = app.test_cli_runner().invoke(args=[
        "auth", "import", "better-auth", f"sqlite:///{source}", "--better-auth-secret", SECRET,
        "--table-prefix", "auth_", "--mapping", str(mapping), "--dry-run"])
    assert "refused  twoFactor: 1 x TOTP secret does not decrypt" in result.stdout
    assert "(ids: t4)" in result.stdout
    assert "skipped  session: 1 x expired" in result.stdout


def test_an_unreadable_source_stops_with_one_line(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    for url, expected in (("nonsense", "not a database URL"), ("oracle://x/y", "unsupported source database"),
                          ("mysql+nosuchdriver://u@h/db", "driver")):
        result = runner.invoke(args=["auth", "import", "better-auth", url])
        assert result.exit_code == 2, result.output
        assert expected in result.stderr
    missing = tmp_path / "typo.db"
    result = runner.invoke(args=["auth", "import", "better-auth", f"sqlite:///{missing}"])
    assert result.exit_code == 2 and "no SQLite database at" in result.stderr
    assert not missing.exists()  # a mistyped path creates nothing
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table notes (id text primary key)").connection.close()
    result = runner.invoke(args=["auth", "import", "better-auth", f"sqlite:///{other}"])
    assert result.exit_code == 2 and "no better-auth user table" in result.stderr


def test_versioned_secrets_open_their_envelopes() -> None:
    keys = BetterAuthKeys(secret="legacy-secret", versioned=parse_versioned("2:new-secret, 1:old-secret"))
    assert keys.decrypt("$ba$2$" + symmetric_encrypt("two", "new-secret")) == "two"
    assert keys.decrypt("$ba$1$" + symmetric_encrypt("one", "old-secret")) == "one"
    assert keys.decrypt(symmetric_encrypt("bare", "legacy-secret")) == "bare"
    with pytest.raises(DecryptionError, match="version 3"):
        keys.decrypt("$ba$3$" + symmetric_encrypt("x", "new-secret"))
    with pytest.raises(DecryptionError):
        keys.decrypt("$ba$1$" + symmetric_encrypt("x", "new-secret"))
    with pytest.raises(ValueError):
        parse_versioned("nocolon")


def test_source_values_from_any_backend() -> None:
    moment = datetime(2026, 12, 2, 17, 8, 29, 136000, tzinfo=UTC)
    for raw in ("2026-12-02T17:08:29.136Z", "2026-12-02 17:08:29.136", 1796231309136, moment.replace(tzinfo=None)):
        assert as_datetime(raw) == moment, raw
    assert as_datetime("not a date") is None
    assert [as_bool(v) for v in (1, 0, "true", "0", True, None)] == [True, False, True, False, True, None]


@pytest.mark.redis
def test_a_re_run_ban_reaches_sessions_cached_in_redis(make_app: Any, redis_url: str, tmp_path: Path,
                                                        mapping: Path) -> None:
    from app.modules.auth.sessions import resolve_token

    source = tmp_path / "custom.db"
    _source(source)
    app = make_app(AUTH__SECRET=OUR_SECRET, REDIS_URL=redis_url)
    args = ("--table-prefix", "auth_", "--mapping", str(mapping))
    run_import(app, f"sqlite:///{source}", *args)
    with app.test_request_context():
        assert resolve_token("live-token") is not None  # now cached in Redis
        assert resolve_token("live-token") is not None
    with sqlite3.connect(source) as conn:  # better-auth bans Una after the first import
        conn.execute("ALTER TABLE auth_user ADD COLUMN banned integer")
        conn.execute("UPDATE auth_user SET banned = 1, updated_at = ? WHERE id = 'u1'", (_iso(datetime.now(UTC)),))
    _, counts, _ = run_import(app, f"sqlite:///{source}", *args)
    assert counts["user"]["updated"] == 1
    with app.test_request_context():
        assert resolve_token("live-token") is None  # the cached session did not outlive the ban


def test_verifications_carried_over_or_skipped_by_kind() -> None:
    from app.modules.auth.importer.core_tables import convert_verification
    from app.modules.auth.importer.spec import Context, Skipped

    ctx = Context(keys=BetterAuthKeys(secret=SECRET), now=NOW)
    live = _iso(NOW + timedelta(hours=1))
    row = {"id": "v1", "identifier": "reset-password:tok", "value": "u1", "expiresAt": live}
    reset = convert_verification(row, ctx)
    assert isinstance(reset, dict) and reset["identifier"] == "reset-password:" + hash_token("tok")
    for identifier, kind in (("2fa-abc", "2fa"), ("trust-device-xyz", "trust-device"), ("Zx9-_hashed", "other")):
        skipped = convert_verification({"id": "v", "identifier": identifier, "value": "", "expiresAt": live}, ctx)
        assert isinstance(skipped, Skipped) and skipped.reason.startswith(kind), skipped
    expired = convert_verification({"id": "v", "identifier": "reset-password:t", "value": "u1",
                                    "expiresAt": _iso(NOW - timedelta(seconds=1))}, ctx)
    assert expired == Skipped("expired")


def test_the_summary_keeps_the_audit_entry_small() -> None:
    from app.modules.auth.importer.report import TableCounts, summary

    counts = TableCounts()
    for n in range(100):
        counts.refuse(f"id{n}", f"reason {n % 50}")
    refusals = summary({"user": counts})["user"]["refusals"]
    assert len(refusals) == 21 and sum(refusals.values()) == 100 and refusals["other reasons"] == 60


def test_answers_given_here_survive_a_re_run() -> None:
    from app.modules.auth.importer.plugin_tables import keep_answered_invitation, keep_consumed_codes

    theirs = {"id": "i1", "status": "pending"}
    assert keep_answered_invitation({"status": "accepted"}, theirs)["status"] == "accepted"
    assert keep_answered_invitation({"status": "pending"}, {"id": "i1", "status": "canceled"})["status"] == "canceled"
    all_codes, one_used = backup_codes.encode(["a", "b"]), backup_codes.encode(["b"])
    assert keep_consumed_codes({"backup_codes": one_used}, {"backup_codes": all_codes})["backup_codes"] == one_used
    regenerated = backup_codes.encode(["c"])  # new codes in better-auth: theirs win
    assert keep_consumed_codes({"backup_codes": one_used}, {"backup_codes": regenerated})["backup_codes"] == regenerated


def test_a_re_imported_quota_ends_the_live_lease(make_app: Any) -> None:
    """The units of lease 3 sit in Redis on top of the row's 40: a re-import that sets the count
    ends that lease, in SQL (a lease taken meanwhile by a live server ends too)."""
    from app.modules.auth.api_key import KeyFields, create_api_key
    from app.modules.auth.api_key.models import ApiKey
    from app.modules.auth.importer.plugin_tables import end_quota_leases
    from app.modules.auth.models import User

    app = make_app()
    with app.app_context():
        db.session.add(User(id="u1", name="U", email="u1@example.com", email_verified=True))
        db.session.commit()
        quota = create_api_key("u1", KeyFields(remaining=40))[0].id
        plain = create_api_key("u1", KeyFields())[0].id
        db.session.execute(update(ApiKey).values(quota_lease=3))
        end_quota_leases([{"id": quota, "remaining": 100}, {"id": plain, "remaining": None}])
        db.session.commit()
        leases = {key_id: lease for key_id, lease in db.session.execute(select(ApiKey.id, ApiKey.quota_lease))}
    assert leases == {quota: 4, plain: 3}

