#!/usr/bin/env bash
# Create .venv when missing and install the project with its dev extras into it (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.installed-pyproject
if [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
  echo "==> installing the project and its dev extras"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e ".[dev]"
  cp pyproject.toml "$stamp"
fi

# The self-hosted Scalar bundle of the API reference page (not in git: 4 MB; pinned and hash-checked).
if command -v npm >/dev/null 2>&1; then
  scripts/fetch_scalar.sh
else
  echo "==> npm missing: the API reference page needs OPENAPI__SCALAR_SCRIPT_URL (a CDN) or scripts/fetch_scalar.sh" >&2
fi
