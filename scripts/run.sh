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
# A secret kept across restarts and reloads, so development sessions survive a code change.
if [ -z "${AUTH__SECRET:-}" ]; then
  [ -s instance/dev-secret ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))" > instance/dev-secret
  AUTH__SECRET="$(cat instance/dev-secret)"
  export AUTH__SECRET
fi

.venv/bin/flask --app wsgi db upgrade
exec .venv/bin/flask --app wsgi run --debug --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
