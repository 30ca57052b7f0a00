"""Helpers of the importer tests: a real better-auth seeding a database, and running the import.

``tests/importer/js`` holds the database drivers better-auth needs for SQLite and PostgreSQL
(``better-sqlite3`` is compiled at install against the system's node headers when there is no
prebuilt binary to fetch); the better-auth packages themselves come from ``tests/js``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import make_url

from tests.jsenv import ensure_node_modules

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
#: better-auth's secret in the seeded deployment; our server is started with the same one.
SECRET = "better-auth-secret-0123456789-abcdefghijkl"


def ensure_drivers() -> None:
    ensure_node_modules()
    with open(JS_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = JS_DIR / "node_modules" / ".installed"
        if marker.exists() and marker.stat().st_mtime >= (JS_DIR / "package.json").stat().st_mtime:
            return
        env = dict(os.environ)
        if Path("/usr/include/node/common.gypi").exists():
            env.setdefault("npm_config_nodedir", "/usr")  # build better-sqlite3 offline
        npm = shutil.which("npm")
        assert npm, "npm is needed to run the importer tests"
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR, check=True,
                       timeout=900, env=env)
        marker.touch()


def node_url(url: str) -> str:
    """The URL as node's pg wants it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _node(script: str, *args: str, timeout: float = 180, env: dict[str, str] | None = None) -> Any:
    ensure_drivers()
    node = shutil.which("node")
    assert node
    result = subprocess.run([node, str(HERE / script), *args], cwd=HERE, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "BA_SECRET": SECRET, **(env or {})})
    assert result.returncode == 0, f"node {script} failed:\n{result.stderr}\n{result.stdout}"
    return json.loads([line for line in result.stdout.splitlines() if line.strip()][-1])


def seed_better_auth(source_url: str, issuer: str) -> dict[str, Any]:
    """Run better-auth on ``source_url`` (sqlite:///path or postgresql://...) and drive it with its client;
    ``issuer`` is the OpenID provider its Keycloak user signs up with."""
    env = {"KC_ISSUER": issuer}
    if source_url.startswith("sqlite"):
        return dict(_node("seed-better-auth.mjs", "sqlite", make_url(source_url).database or "", env=env))
    return dict(_node("seed-better-auth.mjs", "postgres", node_url(source_url), env=env))


def verify_against(server_url: str, seed: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return dict(_node("verify-import.mjs", server_url, str(path)))


def run_import(app: Flask, source_url: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    """``flask auth import better-auth`` in-process: (exit code, counts, output)."""
    result = app.test_cli_runner().invoke(
        args=["auth", "import", "better-auth", source_url, "--better-auth-secret", SECRET, "--json", *extra]
    )
    try:
        counts = json.loads(result.stdout)
    except ValueError:
        counts = {}
    return result.exit_code, counts, result.stdout + result.stderr


def changes(counts: dict[str, Any]) -> int:
    return sum(c["imported"] + c["updated"] for c in counts.values())
