#!/usr/bin/env bash
# Serve the app for development: SQLite in instance/, no other service, Flask's reloading server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export APP_ENV=development
export DATABASE_URL="${RUN_DATABASE_URL:-sqlite:///$PWD/instance/app.db}"
export REDIS_URL=""
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
