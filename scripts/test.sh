#!/usr/bin/env bash
# The whole check: lint, types, then the test suite on SQLite and on PostgreSQL + Redis.
#
#   TEST_BACKENDS   which runs to do (default "sqlite postgres")
#   TEST_DATABASE_URL / TEST_REDIS_URL   servers for the postgres run; default to this machine's
#                   127.0.0.1:5432 (user postgres) and 127.0.0.1:6379 when they answer
#   PYTEST_WORKERS  xdist workers (default 2); extra pytest arguments are passed through: scripts/test.sh -k config
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else return 1; fi; }

missing=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v oathtool >/dev/null 2>&1 || missing+=(oathtool)        # TOTP interop (tests/auth)
command -v curl >/dev/null 2>&1 || missing+=(curl)                # the README's curl walk-through (tests/test_readme.py)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)                   # the proxy drill (tests/deploy)

# The audit drills start a private PostgreSQL (initdb, pg_ctl) that they stop and restart.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)

# better-sqlite3 (the importer tests' better-auth on SQLite) compiles against the node headers
command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(g++ make)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "==> missing ${missing[*]} (not root or no apt-get): their tests will be skipped"
  fi
fi

scripts/setup.sh

# Every step runs, so one report shows every failure; any failure fails the whole run.
status=0
fail() { echo "==> FAILED: $*" >&2; status=1; }

echo "==> ruff"
.venv/bin/ruff check . || fail ruff
echo "==> mypy"
.venv/bin/mypy app config.py serving.py wsgi.py || fail mypy

answers() {  # answers HOST PORT: is something listening there?
  .venv/bin/python - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

if [ -z "${TEST_DATABASE_URL:-}" ] && answers 127.0.0.1 5432; then
  export TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres
fi
if [ -z "${TEST_REDIS_URL:-}" ] && answers 127.0.0.1 6379; then
  export TEST_REDIS_URL=redis://127.0.0.1:6379/0
fi

echo "==> module removal (audit, then tenant with the example, deleted in scratch copies: the rest passes)"
.venv/bin/python scripts/check_module_removal.py || fail "module removal"

echo "==> production install (a fresh venv as the Dockerfile installs it, db upgrade, gunicorn probes)"
.venv/bin/python scripts/check_production_install.py || fail "production install"

for backend in ${TEST_BACKENDS:-sqlite postgres}; do
  echo "==> pytest on $backend"
  if [ "$backend" = postgres ] && [ -z "${TEST_DATABASE_URL:-}" ]; then
    fail "no PostgreSQL for the postgres run: set TEST_DATABASE_URL, or TEST_BACKENDS=sqlite"
    continue
  fi
  # Any non-zero exit fails the run, including 5 (no tests collected).
  TEST_BACKEND="$backend" .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" "$@" || fail "pytest on $backend (exit $?)"
done
exit "$status"
