#!/usr/bin/env bash
# test/web/unit.sh - TAP: the front end's unit tests (web/test/*.test.ts: validation, form state and
# requests, status derivation) run by Vitest under happy-dom, with the npm packages of web/package-lock.json
# (web/install).
set -uo pipefail
web=$(cd "$(dirname "$0")/../../web" && pwd)
"$web/install" >&2 || { echo "Bail out! cannot install web/'s npm packages"; exit 1; }
cd "$web" && exec node node_modules/vitest/vitest.mjs run --reporter=tap-flat </dev/null
