#!/usr/bin/env bash
# Serve the app for development: SQLite in instance/, no other service, Flask's reloading server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export APP_ENV=development
# The quick start serves the embedded default whatever the shell (or .env) says; RUN_DATABASE_URL
# and RUN_REDIS_URL choose other servers for this command only.
if [ -n "${DATABASE_URL:-}" ] && [ -z "${RUN_DATABASE_URL:-}" ]; then
  echo "==> DATABASE_URL is ignored by make run (SQLite in instance/): set RUN_DATABASE_URL to serve it" >&2
fi
if [ -n "${REDIS_URL:-}" ] && [ -z "${RUN_REDIS_URL:-}" ]; then
  echo "==> REDIS_URL is ignored by make run (no Redis): set RUN_REDIS_URL to use it" >&2
fi
export DATABASE_URL="${RUN_DATABASE_URL:-sqlite:///$PWD/instance/app.db}"
export REDIS_URL="${RUN_REDIS_URL:-}"
export AUTH__BASE_URL="${AUTH__BASE_URL:-http://localhost:${PORT:-5000}}"
mkdir -p instance
# Without AUTH__SECRET, development reads instance/dev-secret (config.py creates it once): the same
# secret for this server, its reloads and every `APP_ENV=development flask --app wsgi ...` command.

.venv/bin/flask --app wsgi db upgrade

host="${HOST:-127.0.0.1}"
debug=(--debug)
case "$host" in
  127.0.0.1|localhost|::1) ;;
  *)  # Werkzeug's debugger runs any code typed into an error page: never on an open address.
    echo "==> HOST=$host is reachable from other machines: the interactive debugger is off" >&2
    debug=(--debug --no-debugger) ;;
esac
echo "==> open $AUTH__BASE_URL (the app trusts that origin: 127.0.0.1 is another one for the browser)"
echo "==> mails (verification links, codes) are printed here, in this terminal"
exec .venv/bin/flask --app wsgi run "${debug[@]}" --host "$host" --port "${PORT:-5000}"
