#!/usr/bin/env bash
# Refresh the hash-pinned lock files from pyproject.toml (uv, a dev dependency):
#
#   scripts/lock.sh              keep every pinned version that still fits pyproject.toml, add what is new
#   scripts/lock.sh --upgrade    move every package to its newest version allowed by pyproject.toml
#
# requirements-dev.lock  runtime + dev extras: scripts/setup.sh installs it (.venv, tests, CI)
# requirements.lock      runtime only, constrained to the dev lock's versions, so the image runs
#                        exactly the versions the tests ran; the Dockerfile installs it with
#                        --require-hashes, then the project with --no-deps
# Both are universal (every platform, Python >= 3.11) and carry setuptools, the build backend, so
# the project itself installs with --no-build-isolation and nothing unpinned is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
# uv comes with the dev extras; a first run (or a lock that no longer installs) gets it from pip.
[ -x .venv/bin/python ] || "${PYTHON:-python3.11}" -m venv .venv
[ -x .venv/bin/uv ] || .venv/bin/pip install --quiet "uv>=0.5"

common=(--generate-hashes --universal --python-version 3.11 --quiet)
# The build backend, pinned with the rest (pyproject.toml [build-system] requires).
build_requirement="setuptools>=69"

printf '%s\n' "$build_requirement" | .venv/bin/uv pip compile "${common[@]}" "$@" \
  pyproject.toml --extra dev - -o requirements-dev.lock
printf '%s\n' "$build_requirement" | .venv/bin/uv pip compile "${common[@]}" "$@" \
  pyproject.toml - -c requirements-dev.lock -o requirements.lock
echo "==> requirements-dev.lock: $(grep -c '^[a-z]' requirements-dev.lock) packages, requirements.lock: $(grep -c '^[a-z]' requirements.lock)"
