"""``flask`` commands next to ``make run``: one development secret, and nothing printed at exit.

Real processes, as a developer runs them in two shells: the secret lives in ``instance/dev-secret``
(``DEV_SECRET_FILE`` points these tests at a temporary one), so a key rotated by the CLI is one the
server can read, and ``flask auth check`` says so; under another secret it fails and says which.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODULES__", "AUTH__", "ADMIN__"))}
    for name in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "LOG_LEVEL"):
        env.pop(name, None)
    env.update(APP_ENV="development", APP_ENV_FILE="", PYTHONPATH=str(ROOT),
               DEV_SECRET_FILE=str(tmp_path / "instance" / "dev-secret"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    return env


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLASK), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_cli_uses_the_development_secret_file(dev_env: dict[str, str]) -> None:
    secret_file = Path(dev_env["DEV_SECRET_FILE"])
    assert _flask(dev_env, "db", "upgrade").returncode == 0
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32

    rotated = _flask(dev_env, "jwks", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    check = _flask(dev_env, "auth", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "PASS jwks-keys" in check.stdout
    assert secret_file.read_text().strip() == secret  # read, never replaced

    # The same database under another secret: the key the CLI made does not open, and it says so.
    other = _flask({**dev_env, "AUTH__SECRET": OTHER_SECRET}, "auth", "check")
    assert other.returncode == 1
    assert "FAIL jwks-keys: jwks.privateKey of the signing key" in other.stdout


def test_processes_starting_together_share_one_secret(dev_env: dict[str, str]) -> None:
    code = "from config import load_settings; print(load_settings().auth.secret)"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dev_env, stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    secrets_seen = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert secrets_seen == {Path(dev_env["DEV_SECRET_FILE"]).read_text().strip()}
    assert not [p for p in Path(dev_env["DEV_SECRET_FILE"]).parent.iterdir() if p.name != "dev-secret"]


def test_a_truncated_secret_file_stops_with_one_line(dev_env: dict[str, str]) -> None:
    secret_file = Path(dev_env["DEV_SECRET_FILE"])
    secret_file.parent.mkdir()
    secret_file.write_text("short\n")
    result = _flask(dev_env, "routes")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"configuration error: {secret_file} holds a secret of 5 characters; expected at least 32 "
        "(delete the file to get a new one)"
    ]


@pytest.mark.modules("audit", "tenant")
def test_commands_and_import_wsgi_print_nothing_at_exit(dev_env: dict[str, str]) -> None:
    """No "module auth closed" from processes that had nothing running to close."""
    env = {**dev_env, "MODULES__AUDIT": "true", "MODULES__TENANT": "true"}
    upgrade = _flask(env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    imported = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60, check=False)
    listed = _flask(env, "users", "list")
    for result in (upgrade, imported, listed):
        assert result.returncode == 0, result.stderr
        assert "closed" not in result.stdout + result.stderr
