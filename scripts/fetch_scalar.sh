#!/usr/bin/env bash
# Fetch the pinned @scalar/api-reference standalone bundle for the self-hosted API reference page.
#
#   scripts/fetch_scalar.sh              fetch it when missing or different (idempotent)
#   scripts/fetch_scalar.sh --print-hash print the SHA-384 of the fetched file (to pin a new version)
#
# Version and hash are pinned in app/modules/auth/scalar_bundle.py; npm verifies the tarball against
# the registry's SHA-512, this script verifies the file against the pinned SHA-384 (the page's SRI).
# Needs node and npm (the Dockerfile runs it in a node stage).
set -euo pipefail
cd "$(dirname "$0")/.."

pinned=app/modules/auth/scalar_bundle.py
version=$(sed -n 's/^VERSION = "\(.*\)"$/\1/p' "$pinned")
expected=$(sed -n 's/^SHA384 = "\(.*\)"$/\1/p' "$pinned")
target=app/modules/auth/static/scalar-standalone.js

sri() {
  node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha384-"+c.createHash("sha384").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

if [ "${1:-}" = "--print-hash" ]; then
  sri "$target"; echo
  exit 0
fi
if [ -f "$target" ] && [ "$(sri "$target")" = "$expected" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch_scalar: npm is needed to fetch @scalar/api-reference@$version" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> fetching @scalar/api-reference@$version from npm"
(cd "$work" && npm pack --silent "@scalar/api-reference@$version" >/dev/null)
tar -xzf "$work"/scalar-api-reference-"$version".tgz -C "$work" package/dist/browser/standalone.js
got=$(sri "$work/package/dist/browser/standalone.js")
if [ "$got" != "$expected" ]; then
  echo "fetch_scalar: standalone.js of $version is $got, pinned $expected (in $pinned)" >&2
  exit 1
fi
mkdir -p "$(dirname "$target")"
mv "$work/package/dist/browser/standalone.js" "$target"
echo "==> $target ($got)"
