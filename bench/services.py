"""The bench's own PostgreSQL database (created, migrated with ``flask db upgrade``, dropped) and
its own Redis database number (flushed before and after)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import redis
from sqlalchemy import create_engine, make_url, text

from bench.server import ROOT


def _admin(server_url: str) -> str:
    return make_url(server_url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@contextmanager
def fresh_database(server_url: str, env: Mapping[str, str]) -> Iterator[str]:
    """A new database on ``server_url``, migrated; yields its URL; dropped on the way out."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_admin(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                       env={**env, "DATABASE_URL": url}, check=True, capture_output=True, timeout=120)
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def flushed_redis(url: str) -> Iterator[str]:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
