#!/bin/sh
# Makes sure Debian's ngircd is installed (tests start a real IRC server). Idempotent: does
# nothing when the binary is already there. apt does not auto-start services on these machines,
# and the tests run their own instance with a generated config anyway.
set -eu
if [ -x /usr/sbin/ngircd ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ngircd is missing and we are not root: install it with 'sudo apt-get install -y ngircd'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends ngircd >/dev/null 2>&1 || {
  # A fresh machine may have no package lists yet.
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends ngircd >/dev/null
}
[ -x /usr/sbin/ngircd ]
