"""A better-auth 1.7 SQLite database made directly, with as many users as asked.

The DDL is what better-auth's own migrations create on SQLite (dates as ISO text, booleans as
integers). Every generated user has a credential account whose scrypt hash is real (one hash, made
once, for the password :data:`PASSWORD`) and a live session whose token is ``token-<n>``.
Used by ``bench/import_rate.py`` and by the importer's interruption test.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.modules.auth.passwords import scrypt_hash

__all__ = ["PASSWORD", "add_users", "create_schema"]

PASSWORD = "generated password 0000"
_DDL = (
    'CREATE TABLE IF NOT EXISTS "user" ("id" text not null primary key, "name" text not null, "email" text not null '
    'unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null, '
    '"twoFactorEnabled" integer, "role" text, "banned" integer, "banReason" text, "banExpires" date)',
    'CREATE TABLE IF NOT EXISTS "session" ("id" text not null primary key, "expiresAt" date not null, "token" text '
    'not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, '
    '"userId" text not null references "user" ("id") on delete cascade, "impersonatedBy" text, '
    '"activeOrganizationId" text)',
    'CREATE TABLE IF NOT EXISTS "account" ("id" text not null primary key, "accountId" text not null, "providerId" '
    'text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, '
    '"refreshToken" text, "idToken" text, "accessTokenExpiresAt" date, "refreshTokenExpiresAt" date, "scope" text, '
    '"password" text, "createdAt" date not null, "updatedAt" date not null)',
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def create_schema(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for statement in _DDL:
            conn.execute(statement)


def add_users(path: Path, count: int, *, start: int = 0) -> int:
    """Insert users ``start`` … ``start+count-1`` with an account and a session each; returns rows added."""
    now = datetime.now(UTC)
    created, expires = _iso(now - timedelta(days=30)), _iso(now + timedelta(days=7))
    password = scrypt_hash(PASSWORD)
    users, accounts, sessions = [], [], []
    for n in range(start, start + count):
        uid = f"user{n:08d}"
        users.append((uid, f"User {n}", f"user{n}@example.com", n % 2, None, created, created, 0, "user", 0))
        accounts.append((f"acct{n:08d}", uid, "credential", uid, password, created, created))
        sessions.append((f"sess{n:08d}", expires, f"token-{n}", created, created, "203.0.113.7", "bench", uid))
    with sqlite3.connect(path) as conn:
        conn.executemany('INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt", '
                         '"twoFactorEnabled", role, banned) VALUES (?,?,?,?,?,?,?,?,?,?)', users)
        conn.executemany('INSERT INTO account (id, "accountId", "providerId", "userId", password, "createdAt", '
                         '"updatedAt") VALUES (?,?,?,?,?,?,?)', accounts)
        conn.executemany('INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "ipAddress", '
                         '"userAgent", "userId") VALUES (?,?,?,?,?,?,?,?)', sessions)
    return 3 * count
