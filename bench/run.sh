#!/usr/bin/env bash
# The benchmark in one command: installs wrk when missing (Debian), then `python -m bench "$@"`.
# Needs PostgreSQL (BENCH_DATABASE_SERVER) and Redis (BENCH_REDIS_URL); loads 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: sudo apt-get install -y wrk" >&2
    exit 2
  fi
fi
exec .venv/bin/python -m bench "$@"
