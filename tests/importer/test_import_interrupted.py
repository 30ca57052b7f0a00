"""An import killed mid-way (SIGKILL, no chance to clean up) and run again ends as one that never stopped.

The source is a better-auth SQLite database generated directly (``bench/better_auth_source.py``):
users with a credential account and a live session each. The first run is a real ``flask`` process
killed once some batches are committed; the second finishes the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select

from app.extensions import db
from app.modules.auth.crypto import hash_token
from app.modules.auth.models import Account, Session, User
from bench.better_auth_source import add_users, create_schema
from tests.conftest import BASE_OVERRIDES
from tests.importer.support import SECRET, run_import

ROOT = Path(__file__).resolve().parents[2]
USERS = 12_000


def _users(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(User.__table__)).scalar_one())


def test_a_killed_import_resumes_to_the_same_end_state(make_app: Any, database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "better-auth.db"
    create_schema(source)
    add_users(source, USERS)
    source_url = f"sqlite:///{source}"
    env = {**os.environ, **BASE_OVERRIDES, "AUTH__SECRET": SECRET, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "auth", "import", "better-auth", source_url,
         "--batch-size", "200"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    engine = create_engine(database_url)
    deadline = time.monotonic() + 180  # a loaded CI machine starts flask slowly
    while _users(engine) < 1000 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    done_when_killed = _users(engine)
    engine.dispose()
    assert 1000 <= done_when_killed < USERS  # killed in the middle of the user table

    app = make_app(AUTH__SECRET=SECRET)
    code, counts, output = run_import(app, source_url, "--batch-size", "500")
    assert code == 0, output
    assert counts["user"]["unchanged"] >= done_when_killed - 200  # the batches committed before the kill
    for model in ("user", "account", "session"):
        assert counts[model]["imported"] + counts[model]["unchanged"] == USERS
        assert counts[model]["updated"] == counts[model]["refused"] == 0

    with app.app_context():
        for model in (User, Account, Session):
            assert db.session.scalar(select(func.count()).select_from(model)) == USERS
        sessions = dict(db.session.execute(select(Session.id, Session.token)).all())
        assert sessions == {f"sess{n:08d}": hash_token(f"token-{n}") for n in range(USERS)}
        emails = set(db.session.scalars(select(User.email)))
        assert emails == {f"user{n}@example.com" for n in range(USERS)}
        assert len(set(db.session.scalars(select(Account.password)))) == 1  # the generator's one scrypt hash

    code, counts, _ = run_import(app, source_url)
    assert code == 0 and sum(c["imported"] + c["updated"] for c in counts.values()) == 0
