"""Running node scripts from tests: ``tests/js`` holds the better-auth client and its friends.

``ensure_node_modules()`` installs them once (guarded by a file lock, so xdist workers wait for
one another); ``run_node()`` runs a script there and returns its parsed JSON output.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parent / "js"


def ensure_node_modules() -> None:
    lock_path = JS_DIR / ".install.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = JS_DIR / "node_modules" / ".installed"
        package = JS_DIR / "package.json"
        if marker.exists() and marker.stat().st_mtime >= package.stat().st_mtime:
            return
        npm = shutil.which("npm")
        assert npm, "npm is needed to run the JS client tests"
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_DIR,
            check=True,
            timeout=600,
        )
        marker.touch()


def js_module(*parts: str) -> Path:
    """The path of a file in ``tests/js/node_modules``, installing them first if needed."""
    ensure_node_modules()
    return JS_DIR.joinpath("node_modules", *parts)


def run_node(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run ``tests/js/<script>`` with node; it must print one JSON document on its last line."""
    ensure_node_modules()
    node = shutil.which("node")
    assert node, "node is needed to run the JS client tests"
    result = subprocess.run(
        [node, str(JS_DIR / script), *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise AssertionError(f"node {script} failed ({result.returncode}):\n{result.stderr}\n{result.stdout}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"node {script} printed nothing; stderr:\n{result.stderr}"
    return json.loads(lines[-1])
