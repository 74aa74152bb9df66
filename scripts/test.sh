#!/usr/bin/env bash
# Installs everything the test suites need on a fresh machine, then runs them all.
# Real servers come from Debian (ngircd, PostgreSQL); npm packages from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-ngircd.sh
bash scripts/ensure-postgres.sh
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.test.json
npx vitest run "$@"
