"""Import rate of ``flask auth import better-auth``: rows per second from a generated better-auth database.

``python -m bench.import_rate [--users 100000] [--target sqlite|postgresql://...] [--batch-size 1000]``
generates a better-auth SQLite source (``bench/better_auth_source.py``: each user with a credential
account and a live session), migrates a fresh target, runs the import command in-process and
prints rows/s for the first run and for a re-run (which compares every row and writes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.better_auth_source import add_users, create_schema

SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuv"


def _target(url: str | None, workdir: Path) -> str:
    if url:
        return url
    return f"sqlite:///{workdir / 'target.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--target", default=None, help="target database URL (default: a fresh SQLite file)")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    os.environ["APP_ENV_FILE"] = ""
    from flask_migrate import upgrade

    from app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "better-auth.db"
        create_schema(source)
        started = time.perf_counter()
        rows = add_users(source, args.users)
        print(f"generated {args.users} users ({rows} rows) in {time.perf_counter() - started:.1f} s")
        app = create_app({"APP_ENV": "development", "AUTH__SECRET": SECRET, "LOG_LEVEL": "WARNING",
                          "DATABASE_URL": _target(args.target, workdir)})
        with app.app_context():
            upgrade()
        runner = app.test_cli_runner()
        results = {}
        for label in ("first run", "re-run"):
            started = time.perf_counter()
            result = runner.invoke(args=["auth", "import", "better-auth", f"sqlite:///{source}",
                                         "--batch-size", str(args.batch_size), "--json"])
            elapsed = time.perf_counter() - started
            assert result.exit_code == 0, result.output
            results[label] = {"seconds": round(elapsed, 2), "rows_per_second": round(rows / elapsed)}
            print(f"{label}: {rows} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")
        print(json.dumps({"users": args.users, "rows": rows, "batch_size": args.batch_size, **results}))


if __name__ == "__main__":
    main()
