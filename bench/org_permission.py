"""How a permission check scales with the organization: 5 members vs 50,000 (prints the ratio).

    .venv/bin/python bench/org_permission.py [DATABASE_URL]

Builds both organizations in a throwaway SQLite file (or the given database, which must be empty
and is migrated), then times ``member_has_permission`` for a member of each. The check is one
lookup on the unique (organizationId, userId) index, so the ratio stays near 1. Not part of the
test suite (no assertions on time there); the suite counts SQL statements instead.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import insert

from app import create_app
from app.extensions import db
from app.modules.auth.models import User, utcnow
from app.modules.auth.organization.models import Member, Organization
from app.modules.auth.organization.service import member_has_permission

ROUNDS = 2000
CHUNK = 5000


def build(org_id: str, size: int) -> str:
    now = utcnow()
    db.session.add(Organization(id=org_id, name=org_id, slug=org_id, created_at=now))
    db.session.flush()
    for start in range(0, size, CHUNK):
        ids = range(start, min(size, start + CHUNK))
        db.session.execute(insert(User), [
            {"id": f"{org_id}-u{i}", "name": "u", "email": f"{org_id}-{i}@example.com", "email_verified": True,
             "created_at": now, "updated_at": now} for i in ids])
        db.session.execute(insert(Member), [
            {"id": f"{org_id}-m{i}", "organization_id": org_id, "user_id": f"{org_id}-u{i}", "role": "member",
             "created_at": now} for i in ids])
    db.session.commit()
    return f"{org_id}-u{size // 2}"


def seconds_per_check(app: object, org_id: str, user_id: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(ROUNDS):
            with app.test_request_context("/"):  # type: ignore[attr-defined]
                member_has_permission(user_id, org_id, {"project": ["read"]})
        best = min(best, (time.perf_counter() - start) / ROUNDS)
    return best


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"APP_ENV": "testing", "AUTH__SECRET": "bench-secret-" + "x" * 32, "DATABASE_URL": url,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        small_user = build("small", 5)
        large_user = build("large", 50_000)
    small = seconds_per_check(app, "small", small_user)
    large = seconds_per_check(app, "large", large_user)
    print(f"5 members:      {small * 1e6:8.1f} µs per check")
    print(f"50,000 members: {large * 1e6:8.1f} µs per check")
    print(f"ratio (50,000 / 5): {large / small:.2f}")


if __name__ == "__main__":
    main()
