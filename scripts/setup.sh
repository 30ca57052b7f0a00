#!/usr/bin/env bash
# Create .venv when missing and install the dev lock into it, then the project itself (editable).
#
# requirements-dev.lock pins every package with its hashes (scripts/lock.sh refreshes it), so every
# machine and CI run test the same versions the image ships (requirements.lock is its subset).
# Idempotent: reinstalls only when pyproject.toml or the lock changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.installed-lock
wanted="$(cat pyproject.toml requirements-dev.lock | sha256sum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "==> installing requirements-dev.lock and the project"
  .venv/bin/pip install --quiet --require-hashes -r requirements-dev.lock
  # setuptools (the build backend) comes from the lock: nothing unpinned is fetched to build.
  .venv/bin/pip install --quiet --no-deps --no-build-isolation -e .
  if ! .venv/bin/pip check >/dev/null; then
    .venv/bin/pip check >&2 || true
    echo "==> requirements-dev.lock does not satisfy pyproject.toml: run scripts/lock.sh" >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
fi

# The self-hosted Scalar bundle of the API reference page (not in git: 4 MB; pinned and hash-checked).
if command -v npm >/dev/null 2>&1; then
  scripts/fetch_scalar.sh
else
  echo "==> npm missing: the API reference page needs OPENAPI__SCALAR_SCRIPT_URL (a CDN) or scripts/fetch_scalar.sh" >&2
fi
