#!/bin/sh
# Bundle app/web/client/passwordless.mjs (the official better-auth client and its passkey, magic-link
# and email-OTP plugin clients) into app/web/static/passwordless.js with esbuild, from the pinned
# packages of tests/js (npm install there first). tests/browser/test_passwordless.py checks that
# the committed bundle is this build.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
NODE_PATH="$root/tests/js/node_modules" "$root/tests/js/node_modules/.bin/esbuild" \
  "$root/app/web/client/passwordless.mjs" --bundle --format=iife --minify --legal-comments=none \
  --target=es2020 --log-level=warning --outfile="${1:-$root/app/web/static/passwordless.js}"
