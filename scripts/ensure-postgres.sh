#!/bin/sh
# Makes sure PostgreSQL server binaries (initdb, pg_ctl) are installed, for the integration tests.
# Idempotent and silent when they are already there. Installs with apt-get when run as root.
set -eu

found() {
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if found; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-postgres: PostgreSQL server binaries are missing and this is not root; install the 'postgresql' package" >&2
  exit 1
fi

echo "ensure-postgres: installing postgresql with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq postgresql >/dev/null
found || { echo "ensure-postgres: postgresql installed but initdb/pg_ctl not found" >&2; exit 1; }
