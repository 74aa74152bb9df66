#!/usr/bin/env bash
# Installs everything the test suites need on a fresh machine, then runs them all.
# Real servers come from Debian (ngircd, PostgreSQL); npm packages from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installed once per lock file: the lock's hash is kept beside the packages (a file's mtime says
# nothing after a fresh checkout or in a second worktree sharing node_modules).
lock_hash="$(sha256sum < package-lock.json)"
if [ ! -f node_modules/.qqbridge-lock ] || [ "$(cat node_modules/.qqbridge-lock)" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.qqbridge-lock
fi
bash scripts/ensure-ngircd.sh
bash scripts/ensure-postgres.sh
# The Matrix suite runs against a real Synapse from ../shared (a copy sits beside the clone in CI);
# install its Debian packages once here rather than inside a test's time budget.
SYNAPSE_SH="${SYNAPSE_SH:-$(cd .. && pwd)/shared/tools/synapse/synapse.sh}"
if [ -x "$SYNAPSE_SH" ]; then
  "$SYNAPSE_SH" install
  export SYNAPSE_SH
fi
npx tsc -p tsconfig.json   # type-checks and builds dist/: the CLI tests run the built binary
npx tsc -p tsconfig.test.json   # the tests type-check too
npx vitest run "$@"
