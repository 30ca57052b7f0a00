"""A module is its folder: delete it in a scratch copy, and what remains still imports, migrates and passes.

CI's proof of the module contract (issue 12). For each scenario the tree is copied (without
``.venv``, ``.git`` and caches), the module folders are deleted, then in the copy:
``import wsgi`` with every remaining module switched on, and a fast subset of the suite
(the module system, the migrations, the core and a few auth test files). Tests of a deleted module
are left out by themselves (``@pytest.mark.modules`` and ``collect_ignore`` in ``tests/conftest.py``).

    .venv/bin/python scripts/check_module_removal.py            # every scenario
    .venv/bin/python scripts/check_module_removal.py audit      # one
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS: dict[str, tuple[str, ...]] = {"audit": ("audit",), "tenant": ("tenant", "example")}
OPTIONAL = ("tenant", "audit", "example")
FAST_TESTS = (
    "tests/test_modules.py",
    "tests/test_migrations.py",
    "tests/test_core.py",
    "tests/auth/test_sign_up_in.py",
    "tests/auth/test_organization.py",
)
SKIP = shutil.ignore_patterns(".venv", ".git", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache",
                              ".ruff_cache", "instance", "*.egg-info", "build")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    print("   $", " ".join(argv), flush=True)
    subprocess.run(argv, cwd=cwd, env=env, check=True)


def scenario(name: str, removed: tuple[str, ...]) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"without-{name}-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(ROOT, tree, ignore=SKIP)
        for module in removed:
            shutil.rmtree(tree / "app" / "modules" / module)
        left = [m for m in OPTIONAL if (tree / "app" / "modules" / m).is_dir()]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULES__", "PYTEST_"))}
        env.update({f"MODULES__{m.upper()}": "true" for m in left}, APP_ENV="testing", PYTHONPATH=str(tree),
                   AUTH__SECRET="removal-check-" + "x" * 40, DATABASE_URL=f"sqlite:///{tree / 'wsgi.db'}")
        print(f"==> without {', '.join(removed)} (remaining optional modules: {', '.join(left) or 'none'})")
        python = sys.executable
        imported = f"import app, wsgi; assert app.__file__.startswith({str(tree)!r}), app.__file__"
        run([python, "-c", imported], tree, env)
        for key in [k for k in env if k.startswith("MODULES__")] + ["DATABASE_URL", "AUTH__SECRET", "APP_ENV"]:
            env.pop(key)  # the tests set their own
        # SQLite keeps it fast; with TEST_DATABASE_URL set the migration tests marked postgres run there too.
        env["TEST_BACKEND"] = "sqlite"
        run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *FAST_TESTS], tree, env)
    print(f"==> without {', '.join(removed)}: OK in {time.monotonic() - started:.0f}s", flush=True)


def main(argv: list[str]) -> int:
    chosen = argv or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario {unknown[0]!r}; expected one of {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    try:
        for name in chosen:
            scenario(name, SCENARIOS[name])
    except subprocess.CalledProcessError as failure:
        print(f"==> module removal: FAILED: {' '.join(map(str, failure.cmd))} (exit {failure.returncode})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
